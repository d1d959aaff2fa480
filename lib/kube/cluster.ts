import {
  ApiException,
  ApisApi,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';
import { CRD_GROUP, candidateApiOf, GROUP } from '../api/leasecandidate.js';
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
import { keepAliveConfiguration } from './keep-alive.js';
import { leaseEventObject } from './lease-event.js';
import { request } from './request.js';

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

/** @kubernetes/client-node behind ClusterPort. */
export class KubeCluster implements ClusterPort {
  private readonly objects: CustomObjectsApi;
  private readonly discovery: ApisApi;
  private readonly watcher: Watch;
  readonly leaseFieldsKept: LeaseFieldMemory = {};

  constructor(
    readonly name: string,
    config: KubeConfig,
  ) {
    const kept = keepAliveConfiguration(config);
    this.objects = new CustomObjectsApi(kept);
    this.discovery = new ApisApi(kept);
    this.watcher = new Watch(config);
  }

  /**
   * One `GET /apis` answers for the built-in group and the custom resource at once. A CRD shows
   * there only once it is Established, when its objects can be listed and watched.
   */
  async candidateVersion(): Promise<CandidateApiVersion | undefined> {
    const list = await request(this.name, () => this.discovery.getAPIVersions());
    return preferredCandidateApi(list.groups.filter((g) => g.name === GROUP || g.name === CRD_GROUP));
  }

  listCandidates(version: CandidateApiVersion): Promise<ListResult> {
    return this.list(candidateApiOf(version), 'leasecandidates', 'LeaseCandidate');
  }

  listLeases(): Promise<ListResult> {
    return this.list(watchedApi('leases', 'v1'), 'leases', 'Lease', NEVER_COORDINATED);
  }

  private async list(
    api: { group: string; version: string; apiVersion: string },
    plural: string,
    kind: string,
    selectors: Selectors = {},
  ): Promise<ListResult> {
    const list = (await request(this.name, () =>
      this.objects.listClusterCustomObject({
        group: api.group,
        version: api.version,
        plural,
        ...selectors,
      }),
    )) as {
      items: RawObject[];
      metadata: { resourceVersion: string };
    };
    // List items come without apiVersion and kind; add them so each validates as an object.
    const items = list.items.map((item) => ({ apiVersion: api.apiVersion, kind, ...item }));
    return { items, resourceVersion: list.metadata.resourceVersion };
  }

  watch(
    path: 'leases' | 'leasecandidates',
    version: 'v1' | CandidateApiVersion,
    resourceVersion: string,
    onEvent: (phase: WatchPhase, object: RawObject) => void,
    onDone: (error: unknown) => void,
  ): Promise<AbortController> {
    const kind = path === 'leases' ? 'Lease' : 'LeaseCandidate';
    const api = watchedApi(path, version);
    return this.watcher.watch(
      `/apis/${api.group}/${api.version}/${path}`,
      { resourceVersion, allowWatchBookmarks: true, ...(path === 'leases' && NEVER_COORDINATED) },
      (phase, object: RawObject) =>
        onEvent(phase as WatchPhase, { apiVersion: api.apiVersion, kind, ...object }),
      onDone,
    );
  }

  pingCandidate(version: CandidateApiVersion, ref: ObjectRef, pingTime: string): Promise<WriteResult> {
    const { group, version: served } = candidateApiOf(version);
    return this.write(() =>
      this.objects.patchNamespacedCustomObject(
        { group, version: served, plural: 'leasecandidates', ...ref, body: { spec: { pingTime } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
  }

  deleteCandidate(
    version: CandidateApiVersion,
    ref: ObjectRef,
    resourceVersion: string,
  ): Promise<WriteResult> {
    const { group, version: served } = candidateApiOf(version);
    return this.write(() =>
      this.objects.deleteNamespacedCustomObject({
        group,
        version: served,
        plural: 'leasecandidates',
        ...ref,
        body: { preconditions: { resourceVersion } },
      }),
    );
  }

  async readLease(ref: ObjectRef): Promise<RawObject | undefined> {
    try {
      const lease = (await request(this.name, () =>
        this.objects.getNamespacedCustomObject({ group: GROUP, version: 'v1', plural: 'leases', ...ref }),
      )) as RawObject;
      return { apiVersion: `${GROUP}/v1`, kind: 'Lease', ...lease };
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
  }

  createLease(lease: RawObject): Promise<WriteResult> {
    const namespace = String(lease.metadata?.namespace);
    return this.write(() =>
      this.objects.createNamespacedCustomObject({
        group: GROUP,
        version: 'v1',
        plural: 'leases',
        namespace,
        body: lease,
      }),
    );
  }

  replaceLease(lease: RawObject): Promise<WriteResult> {
    const namespace = String(lease.metadata?.namespace);
    const name = String(lease.metadata?.name);
    return this.write(() =>
      this.objects.replaceNamespacedCustomObject({
        group: GROUP,
        version: 'v1',
        plural: 'leases',
        namespace,
        name,
        body: lease,
      }),
    );
  }

  patchLease(ref: ObjectRef, operations: readonly JsonPatchOperation[]): Promise<WriteResult> {
    return this.write(
      () =>
        this.objects.patchNamespacedCustomObject(
          { group: GROUP, version: 'v1', plural: 'leases', ...ref, body: operations },
          setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
        ),
      // The apiserver answers a failed `test` operation with 422.
      true,
    );
  }

  async recordEvent(event: LeaseEvent): Promise<void> {
    await request(this.name, () =>
      this.objects.createNamespacedCustomObject({
        group: 'events.k8s.io',
        version: 'v1',
        plural: 'events',
        namespace: event.lease.namespace,
        body: leaseEventObject(event),
      }),
    );
  }

  /** Maps the apiserver's refusals to typed results; anything else (network, 5xx, 403) throws. */
  private async write(call: () => Promise<unknown>, testedPatch = false): Promise<WriteResult> {
    try {
      const out = (await request(this.name, call)) as RawObject | undefined;
      return {
        ok: true,
        resourceVersion: out?.metadata?.resourceVersion ?? '',
        ...(out !== undefined && { object: out }),
      };
    } catch (error) {
      if (error instanceof ApiException) {
        if (error.code === 404) return { ok: false, reason: 'NotFound' };
        if (error.code === 409) return { ok: false, reason: conflictReason(error.body) };
        if (error.code === 422 && testedPatch) return { ok: false, reason: 'Conflict' };
      }
      throw error;
    }
  }
}

/** The 409 body is the raw response text; its `reason` tells AlreadyExists from Conflict. */
function conflictReason(body: unknown): 'Conflict' | 'AlreadyExists' {
  try {
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as { reason?: string };
    return status.reason === 'AlreadyExists' ? 'AlreadyExists' : 'Conflict';
  } catch {
    return 'Conflict';
  }
}
