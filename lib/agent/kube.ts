import { ApiStatusError, Apiserver } from '../kube/apiserver.js';
import type { ApiserverAccess } from '../kube/apiserver-access.js';
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
  /** Creates it; undefined, and nothing written, when it exists already. */
  createIfAbsent(api: CandidateApi, spec: Record<string, unknown>): Promise<RawCandidate | undefined>;
  /** A merge patch of spec: it leaves the coordinator's pingTime alone. Undefined when the object is gone. */
  patchSpec(api: CandidateApi, spec: Record<string, unknown>): Promise<RawCandidate | undefined>;
  /** True if it deleted it, false if it was already gone. */
  remove(api: CandidateApi, resourceVersion?: string): Promise<boolean>;
}

const PLURAL = 'leasecandidates';

function isStatus(error: unknown, code: number): boolean {
  return error instanceof ApiStatusError && error.code === code;
}

/** The agent's one LeaseCandidate, named by namespace and name, over plain apiserver calls (apiserver.ts). */
export class KubeCandidates implements CandidatePort {
  private readonly apiserver: Apiserver;

  constructor(
    access: ApiserverAccess,
    private readonly namespace: string,
    private readonly name: string,
  ) {
    this.apiserver = new Apiserver(access);
  }

  async served(): Promise<ServedGroups> {
    const list = (await this.apiserver.call('GET', '/apis')) as {
      groups?: { name: string; versions?: { version: string }[] }[];
    };
    return new Map((list.groups ?? []).map((g) => [g.name, (g.versions ?? []).map((v) => v.version)]));
  }

  async read(api: CandidateApi): Promise<{ object?: RawCandidate; resourceVersion: string }> {
    // A list by name, not a get: its resourceVersion is where the watch starts, with no gap.
    const list = (await this.apiserver.call('GET', this.collection(api), {
      query: { fieldSelector: `metadata.name=${this.name}` },
    })) as { items: RawCandidate[]; metadata: { resourceVersion: string } };
    const object = list.items[0];
    return { ...(object !== undefined && { object }), resourceVersion: list.metadata.resourceVersion };
  }

  watch(
    api: CandidateApi,
    resourceVersion: string,
    onEvent: (event: CandidateEvent) => void,
    onDone: (error: unknown) => void,
  ): Promise<AbortController> {
    return this.apiserver.watch(
      this.collection(api),
      { fieldSelector: `metadata.name=${this.name}`, resourceVersion, allowWatchBookmarks: 'true' },
      ({ type, object }) => {
        if (type === 'ADDED' || type === 'MODIFIED')
          onEvent({ type: 'object', object: object as RawCandidate });
        else if (type === 'DELETED') onEvent({ type: 'deleted' });
        else if (type === 'ERROR') onEvent({ type: 'error', status: object });
      },
      onDone,
    );
  }

  async create(api: CandidateApi, spec: Record<string, unknown>): Promise<RawCandidate> {
    return (
      (await this.createIfAbsent(api, spec)) ??
      ((await this.apiserver.call('GET', this.object(api))) as RawCandidate)
    );
  }

  async createIfAbsent(api: CandidateApi, spec: Record<string, unknown>): Promise<RawCandidate | undefined> {
    try {
      return (await this.apiserver.call('POST', this.collection(api), {
        body: {
          apiVersion: `${api.group}/${api.version}`,
          kind: 'LeaseCandidate',
          metadata: { name: this.name, namespace: this.namespace },
          spec,
        },
      })) as RawCandidate;
    } catch (error) {
      if (isStatus(error, 409)) return undefined;
      throw error;
    }
  }

  async patchSpec(api: CandidateApi, spec: Record<string, unknown>): Promise<RawCandidate | undefined> {
    try {
      return (await this.apiserver.call('PATCH', this.object(api), {
        body: { spec },
        contentType: 'application/merge-patch+json',
      })) as RawCandidate;
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  async remove(api: CandidateApi, resourceVersion?: string): Promise<boolean> {
    try {
      await this.apiserver.call('DELETE', this.object(api), {
        ...(resourceVersion !== undefined && { body: { preconditions: { resourceVersion } } }),
      });
      return true;
    } catch (error) {
      if (isStatus(error, 404)) return false;
      throw error;
    }
  }

  private collection(api: CandidateApi): string {
    return `/apis/${api.group}/${api.version}/namespaces/${encodeURIComponent(this.namespace)}/${PLURAL}`;
  }

  private object(api: CandidateApi): string {
    return `${this.collection(api)}/${encodeURIComponent(this.name)}`;
  }
}
