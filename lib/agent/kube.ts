import {
  ApiException,
  ApisApi,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';
import { request } from '../kube/request.js';
import type { CandidateApi, ServedGroups } from './candidate-api.js';

/** A LeaseCandidate as the apiserver sent it; read through `observe` before any decision. */
export type RawCandidate = Record<string, unknown> & { metadata?: { resourceVersion?: string } };

export type CandidateEvent =
  | { readonly type: 'object'; readonly object: RawCandidate }
  | { readonly type: 'deleted' }
  /** The apiserver ended the watch with an error (410 Gone and the like): list again. */
  | { readonly type: 'error'; readonly status: unknown };

/** What the agent needs from its cluster: its one LeaseCandidate, read, watched and written. */
export interface CandidatePort {
  served(): Promise<ServedGroups>;
  /** The object (undefined when absent) and the resourceVersion to watch from. */
  read(api: CandidateApi): Promise<{ object?: RawCandidate; resourceVersion: string }>;
  watch(
    api: CandidateApi,
    resourceVersion: string,
    onEvent: (event: CandidateEvent) => void,
    onDone: (error: unknown) => void,
  ): Promise<AbortController>;
  /** Creates it; if it exists already (a watch that lags), returns what is there. */
  create(api: CandidateApi, spec: Record<string, unknown>): Promise<RawCandidate>;
  /** A merge patch of spec: it leaves the coordinator's pingTime alone. Undefined when the object is gone. */
  patchSpec(api: CandidateApi, spec: Record<string, unknown>): Promise<RawCandidate | undefined>;
  /** True if it deleted it, false if it was already gone. */
  remove(api: CandidateApi, resourceVersion?: string): Promise<boolean>;
}

const PLURAL = 'leasecandidates';

function isStatus(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

/** @kubernetes/client-node behind CandidatePort, for one LeaseCandidate named by namespace and name. */
export class KubeCandidates implements CandidatePort {
  private readonly objects: CustomObjectsApi;
  private readonly apis: ApisApi;
  private readonly watcher: Watch;

  constructor(
    config: KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
    private readonly cluster = config.getCurrentContext() || 'in-cluster',
  ) {
    this.objects = config.makeApiClient(CustomObjectsApi);
    this.apis = config.makeApiClient(ApisApi);
    this.watcher = new Watch(config);
  }

  async served(): Promise<ServedGroups> {
    const list = await request(this.cluster, () => this.apis.getAPIVersions());
    return new Map(list.groups.map((g) => [g.name, g.versions.map((v) => v.version)]));
  }

  async read(api: CandidateApi): Promise<{ object?: RawCandidate; resourceVersion: string }> {
    // A list by name, not a get: its resourceVersion is where the watch starts, with no gap.
    const list = (await request(this.cluster, () =>
      this.objects.listNamespacedCustomObject({
        ...api,
        namespace: this.namespace,
        plural: PLURAL,
        fieldSelector: `metadata.name=${this.name}`,
      }),
    )) as { items: RawCandidate[]; metadata: { resourceVersion: string } };
    const object = list.items[0];
    return { ...(object !== undefined && { object }), resourceVersion: list.metadata.resourceVersion };
  }

  watch(
    api: CandidateApi,
    resourceVersion: string,
    onEvent: (event: CandidateEvent) => void,
    onDone: (error: unknown) => void,
  ): Promise<AbortController> {
    return this.watcher.watch(
      `/apis/${api.group}/${api.version}/namespaces/${this.namespace}/${PLURAL}`,
      { fieldSelector: `metadata.name=${this.name}`, resourceVersion, allowWatchBookmarks: true },
      (phase, object: RawCandidate) => {
        if (phase === 'ADDED' || phase === 'MODIFIED') onEvent({ type: 'object', object });
        else if (phase === 'DELETED') onEvent({ type: 'deleted' });
        else if (phase === 'ERROR') onEvent({ type: 'error', status: object });
      },
      onDone,
    );
  }

  async create(api: CandidateApi, spec: Record<string, unknown>): Promise<RawCandidate> {
    try {
      return (await request(this.cluster, () =>
        this.objects.createNamespacedCustomObject({
          ...api,
          namespace: this.namespace,
          plural: PLURAL,
          body: {
            apiVersion: `${api.group}/${api.version}`,
            kind: 'LeaseCandidate',
            metadata: { name: this.name, namespace: this.namespace },
            spec,
          },
        }),
      )) as RawCandidate;
    } catch (error) {
      if (!isStatus(error, 409)) throw error;
      return (await request(this.cluster, () =>
        this.objects.getNamespacedCustomObject({
          ...api,
          namespace: this.namespace,
          plural: PLURAL,
          name: this.name,
        }),
      )) as RawCandidate;
    }
  }

  async patchSpec(api: CandidateApi, spec: Record<string, unknown>): Promise<RawCandidate | undefined> {
    try {
      return (await request(this.cluster, () =>
        this.objects.patchNamespacedCustomObject(
          { ...api, namespace: this.namespace, plural: PLURAL, name: this.name, body: { spec } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      )) as RawCandidate;
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  async remove(api: CandidateApi, resourceVersion?: string): Promise<boolean> {
    try {
      await request(this.cluster, () =>
        this.objects.deleteNamespacedCustomObject({
          ...api,
          namespace: this.namespace,
          plural: PLURAL,
          name: this.name,
          ...(resourceVersion !== undefined && { body: { preconditions: { resourceVersion } } }),
        }),
      );
      return true;
    } catch (error) {
      if (isStatus(error, 404)) return false;
      throw error;
    }
  }
}
