import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import pRetry from 'p-retry';
import { parseAllDocuments } from 'yaml';
import { formatMicroTime } from '../api/time.js';
import { CoordinatorError } from '../errors.js';
import type { ControlPlane } from './control-plane.js';

/** A path nothing serves answers `404 page not found` in plain text, not a Status. */
function bodyOf(text: string): Record<string, unknown> {
  if (text === '') return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { text };
  }
}

/**
 * Setup against a local apiserver (tests, `npm run clusters`), as the cluster admin (or as the
 * coordinator, or with any bearer token such as a service account's, to check RBAC).
 */
export function kube(
  plane: ControlPlane,
  method: string,
  path: string,
  body?: unknown,
  as: 'admin' | 'coordinator' | { readonly token: string } = 'admin',
  contentType = 'application/json',
): Promise<{ status: number; json: Record<string, unknown> }> {
  const token = as === 'admin' ? plane.adminToken : as === 'coordinator' ? plane.coordinatorToken : as.token;
  return new Promise((resolve, reject) => {
    const req = request(
      `${plane.server}${path}`,
      {
        method,
        ca: plane.caData,
        headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: bodyOf(text) }));
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
}

/** Where each kind in infra/kubernetes/ is created. */
function collectionOf(object: Manifest): string {
  const namespace = object.metadata.namespace ?? 'default';
  switch (object.kind) {
    case 'ClusterRole':
      return '/apis/rbac.authorization.k8s.io/v1/clusterroles';
    case 'ClusterRoleBinding':
      return '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings';
    case 'Role':
      return `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`;
    case 'RoleBinding':
      return `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`;
    case 'CustomResourceDefinition':
      return '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
    default:
      throw new CoordinatorError(`applying ${object.kind} ${object.metadata.name}: kind not supported here`);
  }
}

/** `kubectl apply` for a manifest in infra/kubernetes/: creates each object, or replaces it if it exists. */
export async function applyManifest(plane: ControlPlane, file: string): Promise<Manifest[]> {
  const objects = parseAllDocuments(
    readFileSync(new URL(`../../infra/kubernetes/${file}`, import.meta.url), 'utf8'),
  ).map((doc) => doc.toJS() as Manifest);
  for (const object of objects) {
    const collection = collectionOf(object);
    let res = await kube(plane, 'POST', collection, object);
    if (res.status === 409) {
      const path = `${collection}/${object.metadata.name}`;
      const current = await kube(plane, 'GET', path);
      const metadata = current.json.metadata as { resourceVersion?: string } | undefined;
      res = await kube(plane, 'PUT', path, {
        ...object,
        metadata: { ...object.metadata, resourceVersion: metadata?.resourceVersion },
      });
    }
    if (res.status !== 201 && res.status !== 200)
      throw new CoordinatorError(
        `applying ${object.kind} ${object.metadata.name} from ${file}: ${res.status} ${JSON.stringify(res.json)}`,
      );
  }
  return objects;
}

/** Applies infra/kubernetes/rbac.yaml: the coordinator's own access. */
export async function applyRbac(plane: ControlPlane): Promise<void> {
  await applyManifest(plane, 'rbac.yaml');
}

/** Applies infra/kubernetes/candidate-rbac.yaml: what a candidate's service account may do. */
export async function applyCandidateRbac(plane: ControlPlane): Promise<void> {
  await applyManifest(plane, 'candidate-rbac.yaml');
}

const CRD_FILE = 'leasecandidate-crd.yaml';

/**
 * Applies infra/kubernetes/leasecandidate-crd.yaml and returns once its objects can be listed and
 * written: the CRD Established, and a list of each version answered.
 */
export async function applyCrd(plane: ControlPlane): Promise<void> {
  const [crd] = await applyManifest(plane, CRD_FILE);
  if (crd === undefined) throw new CoordinatorError(`${CRD_FILE} holds no object`);
  const spec = (
    crd as unknown as { spec: { group: string; names: { plural: string }; versions: { name: string }[] } }
  ).spec;
  await pRetry(
    async () => {
      const res = await kube(
        plane,
        'GET',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
      );
      const conditions =
        (res.json.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ??
        [];
      if (!conditions.some((c) => c.type === 'Established' && c.status === 'True'))
        throw new Error(`CRD ${crd.metadata.name} not Established yet`);
      // Discovery (what a candidate agent reads to choose its API) lists the group a moment later.
      const groups = ((await kube(plane, 'GET', '/apis')).json.groups ?? []) as { name: string }[];
      if (!groups.some((g) => g.name === spec.group)) throw new Error(`${spec.group} not discoverable yet`);
      // A list answers 429 until the new resource's watch cache has started, after Established.
      for (const version of spec.versions) {
        const path = `/apis/${spec.group}/${version.name}/${spec.names.plural}`;
        const listed = await kube(plane, 'GET', path);
        if (listed.status !== 200) throw new Error(`${path}: ${listed.status}, not served yet`);
      }
    },
    { retries: 100, minTimeout: 50, maxTimeout: 500, factor: 1.5 },
  );
}

/**
 * Keeps kube-apiserver's own CLE controller from ever leading: it acts only while it holds
 * kube-system/leader-election-controller, so a Lease held there by someone else for a year keeps
 * it out of every lease's path, including leases with the in-tree strategy name.
 */
export async function benchInTreeController(plane: ControlPlane): Promise<void> {
  const path = '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/leader-election-controller';
  const spec = () => {
    const now = formatMicroTime(Date.now());
    return {
      holderIdentity: 'lease-coordinator-holds-this',
      leaseDurationSeconds: 31_536_000,
      renewTime: now,
      acquireTime: now,
    };
  };
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = await kube(plane, 'GET', path);
    const res =
      current.status === 404
        ? await kube(plane, 'POST', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases', {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: 'leader-election-controller', namespace: 'kube-system' },
            spec: spec(),
          })
        : // The in-tree controller got there first: take the Lease from it. Its next renewal sees
          // another holder, it stops leading, and a year-long lease keeps it from coming back.
          await kube(plane, 'PUT', path, { ...current.json, spec: spec() });
    if (res.status === 200 || res.status === 201) return;
    if (res.status !== 409)
      throw new Error(`benching the in-tree controller: ${res.status} ${JSON.stringify(res.json)}`);
  }
  throw new Error('benching the in-tree controller: kept conflicting');
}
