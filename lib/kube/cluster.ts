import { CRD_GROUP, candidateApiOf, GROUP } from '../api/leasecandidate.js';
import { FIELD_MANAGER } from '../api/managed-fields.js';
import { type CandidateApiVersion, CRD_CANDIDATE_API } from '../election/types.js';
import type {
  ClusterPort,
  JsonPatchOperation,
  LeaseEvent,
  LeaseFieldMemory,
  ListResult,
  ObjectRef,
  RawObject,
  WatchPhase,
  WriteResult,
} from '../ports/cluster.js';
import { ApiStatusError, Apiserver } from './apiserver.js';
import type { ApiserverAccess } from './apiserver-access.js';
import { leaseEventObject } from './lease-event.js';
import { statusOf } from './status.js';

/** Built-in first: a candidate that can register there (client-go's NewCandidate) does. */
const PREFERRED_VERSIONS: readonly CandidateApiVersion[] = [
  'v1beta1',
  'v1alpha2',
  'v1alpha1',
  CRD_CANDIDATE_API,
];

/** Picks the API to read from a discovery answer (`GET /apis`): PREFERRED_VERSIONS' order. */
export function preferredCandidateApi(
  groups: readonly { name: string; versions: readonly { version: string }[] }[],
): CandidateApiVersion | undefined {
  const served = new Set(groups.flatMap((g) => g.versions.map((v) => `${g.name}/${v.version}`)));
  return PREFERRED_VERSIONS.find((v) => served.has(candidateApiOf(v).apiVersion));
}

/** Where a watched kind is served. */
function watchedApi(path: 'leases' | 'leasecandidates', version: 'v1' | CandidateApiVersion) {
  return path === 'leases' || version === 'v1'
    ? { group: GROUP, version: 'v1', apiVersion: `${GROUP}/v1` }
    : candidateApiOf(version);
}

interface Selectors {
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
}

/**
 * Leases that are never coordinated, left out by the apiserver itself when ingest lists and
 * watches Leases: every node's heartbeat (namespace kube-node-lease, one renewal per node every
 * 10 s) and each kube-apiserver's identity lease (renewed every 10 s). Each Lease event ingest
 * receives costs a table read to learn whether the lease is ours, so a cluster of 1,000 nodes would
 * otherwise cost 100 reads a second, and as much Lambda time, for nothing.
 */
export const NEVER_COORDINATED: Selectors = {
  fieldSelector: 'metadata.namespace!=kube-node-lease',
  labelSelector: '!apiserver.kubernetes.io/identity',
};

/** Where a namespaced object of `plural` in `api` is, or its collection without a name. */
function objectPath(api: { apiVersion: string }, plural: string, namespace: string, name?: string): string {
  const collection = `/apis/${api.apiVersion}/namespaces/${encodeURIComponent(namespace)}/${plural}`;
  return name === undefined ? collection : `${collection}/${encodeURIComponent(name)}`;
}

const LEASES_V1 = watchedApi('leases', 'v1');
const EVENTS_V1 = { apiVersion: 'events.k8s.io/v1' };

/**
 * ClusterPort over plain apiserver calls (apiserver.ts: node:http(s), one kept-alive pool per
 * cluster, JSON in and out), the same client the agent uses. The full Kubernetes client would
 * add two thirds of the bytes of the bundles that reach clusters and a third of a cold `requeue`'s
 * CPU (docs/deploy.md, "What a cold `requeue` pays") for calls this port does not make.
 */
export class KubeCluster implements ClusterPort {
  private readonly apiserver: Apiserver;
  readonly leaseFieldsKept: LeaseFieldMemory = {};

  constructor(
    readonly name: string,
    access: ApiserverAccess,
  ) {
    this.apiserver = new Apiserver({ ...access, name });
  }

  /**
   * One `GET /apis` answers for the built-in group and the custom resource at once. A CRD shows
   * there only once it is Established, when its objects can be listed and watched.
   */
  async candidateVersion(): Promise<CandidateApiVersion | undefined> {
    const list = (await this.apiserver.call('GET', '/apis')) as {
      groups?: { name: string; versions?: { version: string }[] }[];
    };
    const groups = (list.groups ?? []).map((g) => ({ name: g.name, versions: g.versions ?? [] }));
    return preferredCandidateApi(groups.filter((g) => g.name === GROUP || g.name === CRD_GROUP));
  }

  listCandidates(version: CandidateApiVersion): Promise<ListResult> {
    return this.list(candidateApiOf(version), 'leasecandidates', 'LeaseCandidate');
  }

  listLeases(): Promise<ListResult> {
    return this.list(LEASES_V1, 'leases', 'Lease', NEVER_COORDINATED);
  }

  private async list(
    api: { apiVersion: string },
    plural: string,
    kind: string,
    selectors: Selectors = {},
  ): Promise<ListResult> {
    const list = (await this.apiserver.call('GET', `/apis/${api.apiVersion}/${plural}`, {
      query: { ...selectors },
    })) as { items: RawObject[]; metadata: { resourceVersion: string } };
    // List items come without apiVersion and kind; add them so each validates as an object.
    const items = list.items.map((item) => ({ apiVersion: api.apiVersion, kind, ...item }));
    return { items, resourceVersion: list.metadata.resourceVersion };
  }

  /**
   * A watch that cannot start (a refusal, a connection error) ends at once through `onDone`, as one
   * that breaks later does: the caller lists again either way.
   */
  async watch(
    path: 'leases' | 'leasecandidates',
    version: 'v1' | CandidateApiVersion,
    resourceVersion: string,
    onEvent: (phase: WatchPhase, object: RawObject) => void,
    onDone: (error: unknown) => void,
  ): Promise<AbortController> {
    const kind = path === 'leases' ? 'Lease' : 'LeaseCandidate';
    const api = watchedApi(path, version);
    try {
      return await this.apiserver.watch(
        `/apis/${api.apiVersion}/${path}`,
        { resourceVersion, allowWatchBookmarks: 'true', ...(path === 'leases' && NEVER_COORDINATED) },
        ({ type, object }) => {
          // An ERROR event carries a Status (410 Gone: the resourceVersion is too old), not an object
          // of the watched kind: thrown, it ends the watch through onDone, and ingest lists again.
          if (type === 'ERROR') throw watchError(path, object);
          onEvent(type as WatchPhase, { apiVersion: api.apiVersion, kind, ...object });
        },
        onDone,
      );
    } catch (error) {
      onDone(error);
      const ended = new AbortController();
      ended.abort();
      return ended;
    }
  }

  pingCandidate(version: CandidateApiVersion, ref: ObjectRef, pingTime: string): Promise<WriteResult> {
    const path = objectPath(candidateApiOf(version), 'leasecandidates', ref.namespace, ref.name);
    return this.write('PATCH', path, { spec: { pingTime } }, 'application/merge-patch+json');
  }

  deleteCandidate(
    version: CandidateApiVersion,
    ref: ObjectRef,
    resourceVersion: string,
  ): Promise<WriteResult> {
    const path = objectPath(candidateApiOf(version), 'leasecandidates', ref.namespace, ref.name);
    return this.write('DELETE', path, { preconditions: { resourceVersion } });
  }

  async readLease(ref: ObjectRef): Promise<RawObject | undefined> {
    try {
      const lease = (await this.apiserver.call(
        'GET',
        objectPath(LEASES_V1, 'leases', ref.namespace, ref.name),
      )) as RawObject;
      return { apiVersion: LEASES_V1.apiVersion, kind: 'Lease', ...lease };
    } catch (error) {
      if (error instanceof ApiStatusError && error.code === 404) return undefined;
      throw error;
    }
  }

  createLease(lease: RawObject): Promise<WriteResult> {
    return this.write('POST', objectPath(LEASES_V1, 'leases', String(lease.metadata?.namespace)), lease);
  }

  replaceLease(lease: RawObject): Promise<WriteResult> {
    const { namespace, name } = lease.metadata ?? {};
    return this.write('PUT', objectPath(LEASES_V1, 'leases', String(namespace), String(name)), lease);
  }

  patchLease(ref: ObjectRef, operations: readonly JsonPatchOperation[]): Promise<WriteResult> {
    const path = objectPath(LEASES_V1, 'leases', ref.namespace, ref.name);
    // The apiserver answers a failed `test` operation with 422.
    return this.write('PATCH', path, operations, 'application/json-patch+json', true);
  }

  async recordEvent(event: LeaseEvent): Promise<void> {
    await this.apiserver.call('POST', objectPath(EVENTS_V1, 'events', event.lease.namespace), {
      body: leaseEventObject(event),
    });
  }

  /** Maps the apiserver's refusals to typed results; anything else (network, 5xx, 403) throws. */
  private async write(
    method: string,
    path: string,
    body: unknown,
    contentType?: string,
    testedPatch = false,
  ): Promise<WriteResult> {
    try {
      const out = (await this.apiserver.call(method, path, {
        body,
        // Names us in managedFields: the field a write changes is ours there until another's
        // write changes it (renewTimeWrittenByUs).
        query: { fieldManager: FIELD_MANAGER },
        ...(contentType !== undefined && { contentType }),
      })) as RawObject | undefined;
      return {
        ok: true,
        resourceVersion: out?.metadata?.resourceVersion ?? '',
        ...(out !== undefined && { object: out }),
      };
    } catch (error) {
      if (error instanceof ApiStatusError) {
        if (error.code === 404) return { ok: false, reason: notFoundReason(error.body) };
        if (error.code === 409) return { ok: false, reason: conflictReason(error.body) };
        if (error.code === 422 && testedPatch) return { ok: false, reason: 'Conflict' };
      }
      throw error;
    }
  }
}

/** The Status of an ERROR watch event, as the error that ends the watch. */
function watchError(path: string, status: Record<string, unknown>): ApiStatusError {
  const code = typeof status.code === 'number' ? status.code : 500;
  return new ApiStatusError(code, JSON.stringify(status), `watch ${path}`);
}

/**
 * A 404 for a missing object is a Status that names it (details.name); one for a path the apiserver
 * does not serve names nothing ("the server could not find the requested resource", or no Status).
 */
function notFoundReason(body: unknown): 'NotFound' | 'NotServed' {
  return statusOf(body)?.details?.name !== undefined ? 'NotFound' : 'NotServed';
}

/** The 409 body is the raw response text; its `reason` tells AlreadyExists from Conflict. */
function conflictReason(body: unknown): 'Conflict' | 'AlreadyExists' {
  return statusOf(body)?.reason === 'AlreadyExists' ? 'AlreadyExists' : 'Conflict';
}
