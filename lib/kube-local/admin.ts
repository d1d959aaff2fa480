import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { parseAllDocuments } from 'yaml';
import { formatMicroTime } from '../api/time.js';
import type { ControlPlane } from './control-plane.js';

/** Setup against a local apiserver (tests, `npm run clusters`), as the cluster admin (or as the coordinator, to check RBAC). */
export function kube(
  plane: ControlPlane,
  method: string,
  path: string,
  body?: unknown,
  as: 'admin' | 'coordinator' = 'admin',
  contentType = 'application/json',
): Promise<{ status: number; json: Record<string, unknown> }> {
  const token = as === 'admin' ? plane.adminToken : plane.coordinatorToken;
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
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
          }),
        );
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

/** Applies infra/kubernetes/rbac.yaml (creates each object). */
export async function applyRbac(plane: ControlPlane): Promise<void> {
  const docs = parseAllDocuments(
    readFileSync(new URL('../../infra/kubernetes/rbac.yaml', import.meta.url), 'utf8'),
  );
  for (const doc of docs) {
    const object = doc.toJS() as { kind: string };
    const plural = object.kind === 'ClusterRole' ? 'clusterroles' : 'clusterrolebindings';
    const res = await kube(plane, 'POST', `/apis/rbac.authorization.k8s.io/v1/${plural}`, object);
    if (res.status !== 201)
      throw new Error(`applying ${object.kind}: ${res.status} ${JSON.stringify(res.json)}`);
  }
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
