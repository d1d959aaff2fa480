import { applyPatch, JsonPatchError, type Operation } from 'fast-json-patch';
import { candidateApiOf } from '../../lib/api/leasecandidate.js';
import { FIELD_MANAGER } from '../../lib/api/managed-fields.js';
import { formatMicroTime, formatTime } from '../../lib/api/time.js';
import { type CandidateApiVersion, CRD_CANDIDATE_API, type Millis } from '../../lib/election/types.js';
import type { Gate } from '../../lib/kube-local/control-plane.js';
import type {
  ClusterPort,
  JsonPatchOperation,
  LeaseEvent,
  LeaseFieldMemory,
  ListResult,
  ObjectRef,
  RawObject,
  WriteResult,
} from '../../lib/ports/cluster.js';
import type { Clock } from '../../lib/ports/schedule.js';
import { nextOrdinal, type RequestGate } from './in-memory-store.js';

/**
 * One cluster's LeaseCandidates and Leases in memory, with the apiserver's optimistic
 * concurrency: create of an existing object is AlreadyExists, a write carrying a stale
 * resourceVersion is Conflict, and every write gives the object a higher resourceVersion (one
 * counter per cluster, as etcd's revision). The cluster's own clock runs `offsetMs` from the
 * coordinator's; candidates and holders in it stamp their times with it.
 */

export type ObjectKind = 'Lease' | 'LeaseCandidate';

/** One committed write, on the coordinator's clock; `object` undefined: deleted. */
export interface ClusterWrite {
  readonly seq: number;
  readonly ordinal: number;
  readonly at: Millis;
  readonly kind: ObjectKind;
  readonly namespace: string;
  readonly name: string;
  readonly by: string;
  readonly object: RawObject | undefined;
}

export interface InMemoryClusterOptions {
  /**
   * CoordinatedLeaderElection: `on` (default) serves coordination.k8s.io/v1beta1 LeaseCandidates;
   * `off` sets `gateOff` (Lease writes lose strategy and preferredHolder) and serves the CRD.
   */
  readonly gate?: Gate;
  /**
   * Whether the LeaseCandidate CRD is installed (default yes; `installCrd` adds or removes it). It
   * is served only with the gate off: where the built-in API is served, the coordinator reads that.
   */
  readonly crd?: boolean;
}

function idOf(kind: ObjectKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

function refOf(object: RawObject): ObjectRef {
  return { namespace: String(object.metadata?.namespace ?? 'default'), name: String(object.metadata?.name) };
}

/**
 * The apiserver's managedFields, for the one field the coordinator reads them for: an update owns
 * the fields it changed, so spec.renewTime belongs to the last write that moved it. `coordinator`
 * writes as our field manager, anyone else under their own name.
 */
function renewTimeManaged(object: RawObject, previous: RawObject | undefined, by: string): unknown[] {
  const renewTime = (object.spec as { renewTime?: unknown } | undefined)?.renewTime;
  if (renewTime === undefined) return [];
  const before = (previous?.spec as { renewTime?: unknown } | undefined)?.renewTime;
  const owner =
    previous !== undefined && before === renewTime
      ? (previous.metadata as { managedFields?: { manager?: string }[] } | undefined)?.managedFields?.[0]
          ?.manager
      : by === 'coordinator'
        ? FIELD_MANAGER
        : by;
  if (owner === undefined) return [];
  return [
    {
      manager: owner,
      operation: 'Update',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:spec': { 'f:renewTime': {} } },
    },
  ];
}

export class InMemoryCluster {
  private readonly objects = new Map<string, RawObject>();
  readonly history: ClusterWrite[] = [];
  /** Events recorded on Leases, in order (the mirror's, best-effort). */
  readonly events: LeaseEvent[] = [];
  private revision = 0;
  /**
   * As kube-apiserver with the CoordinatedLeaderElection gate off: Lease writes lose
   * spec.strategy and spec.preferredHolder, on create always and on update unless the stored Lease
   * already had them (the Lease registry strategy's PrepareForCreate and PrepareForUpdate).
   */
  gateOff = false;
  /** Shared by every port of this cluster, as one connection's memory is by its requests. */
  readonly leaseFieldsKept: LeaseFieldMemory = {};
  private crd: boolean;

  constructor(
    readonly name: string,
    readonly offsetMs: Millis,
    private readonly clock: Clock,
    options: InMemoryClusterOptions = {},
  ) {
    this.gateOff = options.gate === 'off';
    this.crd = options.crd ?? true;
  }

  get gate(): Gate {
    return this.gateOff ? 'off' : 'on';
  }

  /** The LeaseCandidate API candidates here use: the built-in one, else the CRD if installed. */
  candidateApi(): CandidateApiVersion | undefined {
    if (this.gate === 'on') return 'v1beta1';
    return this.crd ? CRD_CANDIDATE_API : undefined;
  }

  /** Whether LeaseCandidates of `version` can be read and written here. */
  serves(version: CandidateApiVersion): boolean {
    return version === CRD_CANDIDATE_API ? this.gate === 'off' && this.crd : this.gate === 'on';
  }

  /** The LeaseCandidate CRD is applied (or removed) while the coordinator runs. */
  installCrd(installed = true): void {
    this.crd = installed;
  }

  /** This cluster's wall clock. */
  localNow(): Millis {
    return this.clock() + this.offsetMs;
  }

  get(kind: ObjectKind, ref: ObjectRef): RawObject | undefined {
    const object = this.objects.get(idOf(kind, ref.namespace, ref.name));
    return object === undefined ? undefined : structuredClone(object);
  }

  /** Every version `kind/ref` has had, oldest first: what watches deliver, in any order. */
  versions(kind: ObjectKind, ref: ObjectRef): RawObject[] {
    return this.history
      .filter((w) => w.kind === kind && w.namespace === ref.namespace && w.name === ref.name)
      .flatMap((w) => (w.object === undefined ? [] : [structuredClone(w.object)]));
  }

  /** The ClusterPort the coordinator uses; each request passes through `gate`. */
  port(gate?: RequestGate): ClusterPort {
    return new InMemoryClusterPort(this, gate ?? (async () => {}));
  }

  create(kind: ObjectKind, object: RawObject, by: string): WriteResult {
    const ref = refOf(object);
    if (object.metadata?.resourceVersion !== undefined)
      throw new Error(`${this.name}: resourceVersion must not be set on create (${ref.name})`);
    if (this.objects.has(idOf(kind, ref.namespace, ref.name))) return { ok: false, reason: 'AlreadyExists' };
    const stored = structuredClone(object);
    stored.metadata = {
      ...stored.metadata,
      creationTimestamp: formatTime(this.localNow()),
    } as RawObject['metadata'];
    if (kind === 'Lease') this.dropUnservedFields(stored, undefined);
    return this.commit(kind, ref, stored, by);
  }

  /** PUT: with metadata.resourceVersion, only over that exact version. */
  replace(kind: ObjectKind, object: RawObject, by: string): WriteResult {
    const ref = refOf(object);
    const current = this.objects.get(idOf(kind, ref.namespace, ref.name));
    if (current === undefined) return { ok: false, reason: 'NotFound' };
    const precondition = object.metadata?.resourceVersion;
    if (precondition !== undefined && precondition !== current.metadata?.resourceVersion)
      return { ok: false, reason: 'Conflict' };
    const stored = structuredClone(object);
    // The apiserver keeps creationTimestamp whatever the PUT says.
    stored.metadata = {
      ...stored.metadata,
      creationTimestamp: (current.metadata as Record<string, unknown>).creationTimestamp,
    } as RawObject['metadata'];
    if (kind === 'Lease') this.dropUnservedFields(stored, current);
    return this.commit(kind, ref, stored, by);
  }

  private dropUnservedFields(lease: RawObject, old: RawObject | undefined): void {
    if (!this.gateOff) return;
    const spec = (lease.spec ?? {}) as Record<string, unknown>;
    const oldSpec = (old?.spec ?? {}) as Record<string, unknown>;
    for (const field of ['strategy', 'preferredHolder']) if (oldSpec[field] == null) delete spec[field];
  }

  /** A merge patch of spec: no precondition. */
  patchSpec(kind: ObjectKind, ref: ObjectRef, spec: Record<string, unknown>, by: string): WriteResult {
    const current = this.objects.get(idOf(kind, ref.namespace, ref.name));
    if (current === undefined) return { ok: false, reason: 'NotFound' };
    const stored = structuredClone(current);
    stored.spec = { ...(stored.spec as Record<string, unknown>), ...spec };
    return this.commit(kind, ref, stored, by);
  }

  delete(kind: ObjectKind, ref: ObjectRef, resourceVersion: string | undefined, by: string): WriteResult {
    const id = idOf(kind, ref.namespace, ref.name);
    const current = this.objects.get(id);
    if (current === undefined) return { ok: false, reason: 'NotFound' };
    if (resourceVersion !== undefined && resourceVersion !== current.metadata?.resourceVersion)
      return { ok: false, reason: 'Conflict' };
    this.objects.delete(id);
    this.revision++;
    this.history.push({
      seq: this.revision,
      ordinal: nextOrdinal(),
      at: this.clock(),
      kind,
      ...ref,
      by,
      object: undefined,
    });
    return { ok: true, resourceVersion: String(this.revision) };
  }

  list(kind: ObjectKind): ListResult {
    const items = [...this.objects.entries()]
      .filter(([id]) => id.startsWith(`${kind}/`))
      .map(([, object]) => structuredClone(object));
    return { items, resourceVersion: String(this.revision) };
  }

  private commit(kind: ObjectKind, ref: ObjectRef, object: RawObject, by: string): WriteResult {
    this.revision++;
    const resourceVersion = String(this.revision);
    const managedFields =
      kind === 'Lease'
        ? renewTimeManaged(object, this.objects.get(idOf(kind, ref.namespace, ref.name)), by)
        : [];
    object.metadata = {
      ...object.metadata,
      resourceVersion,
      ...(kind === 'Lease' && { managedFields }),
    } as RawObject['metadata'];
    this.objects.set(idOf(kind, ref.namespace, ref.name), structuredClone(object));
    this.history.push({
      seq: this.revision,
      ordinal: nextOrdinal(),
      at: this.clock(),
      kind,
      ...ref,
      by,
      object: structuredClone(object),
    });
    return { ok: true, resourceVersion, object: structuredClone(object) };
  }

  // What candidates and holders in this cluster do, client-go style, on the cluster's clock.

  /** A candidate's heartbeat: create its LeaseCandidate, or renew it (it answers any ping by renewing). */
  heartbeat(candidate: {
    namespace: string;
    name: string;
    leaseName: string;
    binaryVersion: string;
    emulationVersion: string;
    strategy: string;
  }): WriteResult {
    const ref = { namespace: candidate.namespace, name: candidate.name };
    const renewTime = formatMicroTime(this.localNow());
    const api = this.candidateApi();
    // Neither API served: client-go's NewCandidate gets a 404 and keeps retrying.
    if (api === undefined) return { ok: false, reason: 'NotFound' };
    const current = this.get('LeaseCandidate', ref);
    if (current === undefined) {
      return this.create(
        'LeaseCandidate',
        {
          apiVersion: candidateApiOf(api).apiVersion,
          kind: 'LeaseCandidate',
          metadata: ref,
          spec: {
            leaseName: candidate.leaseName,
            binaryVersion: candidate.binaryVersion,
            emulationVersion: candidate.emulationVersion,
            strategy: candidate.strategy,
            renewTime,
          },
        },
        candidate.name,
      );
    }
    current.spec = { ...(current.spec as Record<string, unknown>), renewTime };
    return this.replace('LeaseCandidate', current, candidate.name);
  }

  /** The holder renews its Lease, as client-go does: only while the Lease names it. */
  renewLease(
    ref: ObjectRef,
    holder: string,
    leaseDurationSeconds: number,
    /** How long before its commit the holder stamped it: a write that took that long. */
    stampedBeforeMs = 0,
  ): WriteResult | 'not-holder' {
    const current = this.get('Lease', ref);
    const spec = (current?.spec ?? {}) as Record<string, unknown>;
    if (current === undefined || spec.holderIdentity !== holder) return 'not-holder';
    const renewTime = formatMicroTime(this.localNow() - stampedBeforeMs);
    current.spec = { ...spec, leaseDurationSeconds, renewTime };
    return this.replace('Lease', current, holder);
  }

  /**
   * client-go's ReleaseOnCancel: holderIdentity "" with a 1 s duration. Its update replaces the spec
   * (strategy and preferredHolder go) and keeps the annotations it read.
   */
  releaseLease(ref: ObjectRef, holder: string): WriteResult | 'not-holder' {
    const current = this.get('Lease', ref);
    const {
      strategy: _strategy,
      preferredHolder: _preferred,
      ...spec
    } = (current?.spec ?? {}) as Record<string, unknown>;
    if (current === undefined || spec.holderIdentity !== holder) return 'not-holder';
    current.spec = {
      ...spec,
      holderIdentity: '',
      leaseDurationSeconds: 1,
      renewTime: formatMicroTime(this.localNow()),
    };
    return this.replace('Lease', current, holder);
  }
}

class InMemoryClusterPort implements ClusterPort {
  readonly name: string;
  readonly leaseFieldsKept: LeaseFieldMemory;

  constructor(
    private readonly cluster: InMemoryCluster,
    private readonly gate: RequestGate,
  ) {
    this.name = cluster.name;
    this.leaseFieldsKept = cluster.leaseFieldsKept;
  }

  private async request<T>(what: string, run: () => T): Promise<T> {
    await this.gate(`${this.name}:${what}`);
    return run();
  }

  candidateVersion(): Promise<CandidateApiVersion | undefined> {
    return this.request('discovery', () => this.cluster.candidateApi());
  }

  listCandidates(): Promise<ListResult> {
    return this.request('listCandidates', () => this.cluster.list('LeaseCandidate'));
  }

  listLeases(): Promise<ListResult> {
    return this.request('listLeases', () => this.cluster.list('Lease'));
  }

  watch(): Promise<AbortController> {
    // The model delivers watch events itself (in any order, duplicated): no live watch here.
    return Promise.reject(new Error('InMemoryCluster does not serve watches'));
  }

  // A LeaseCandidate API the cluster does not serve answers 404 naming no object, as the apiserver does.
  pingCandidate(version: CandidateApiVersion, ref: ObjectRef, pingTime: string): Promise<WriteResult> {
    return this.request('pingCandidate', () =>
      this.cluster.serves(version)
        ? this.cluster.patchSpec('LeaseCandidate', ref, { pingTime }, 'coordinator')
        : ({ ok: false, reason: 'NotServed' } as const),
    );
  }

  deleteCandidate(
    version: CandidateApiVersion,
    ref: ObjectRef,
    resourceVersion: string,
  ): Promise<WriteResult> {
    return this.request('deleteCandidate', () =>
      this.cluster.serves(version)
        ? this.cluster.delete('LeaseCandidate', ref, resourceVersion, 'coordinator')
        : ({ ok: false, reason: 'NotServed' } as const),
    );
  }

  readLease(ref: ObjectRef): Promise<RawObject | undefined> {
    return this.request('readLease', () => this.cluster.get('Lease', ref));
  }

  recordEvent(event: LeaseEvent): Promise<void> {
    return this.request('recordEvent', () => {
      this.cluster.events.push(event);
    });
  }

  createLease(lease: RawObject): Promise<WriteResult> {
    return this.request('createLease', () => this.cluster.create('Lease', lease, 'coordinator'));
  }

  replaceLease(lease: RawObject): Promise<WriteResult> {
    return this.request('replaceLease', () => this.cluster.replace('Lease', lease, 'coordinator'));
  }

  patchLease(ref: ObjectRef, operations: readonly JsonPatchOperation[]): Promise<WriteResult> {
    // Read, patch and write in one step, as the apiserver applies a patch atomically.
    return this.request('patchLease', () => {
      const current = this.cluster.get('Lease', ref);
      if (current === undefined) return { ok: false, reason: 'NotFound' } as const;
      try {
        const patched = applyPatch(structuredClone(current), [...operations] as Operation[], true, false);
        return this.cluster.replace('Lease', patched.newDocument, 'coordinator');
      } catch (error) {
        if (error instanceof JsonPatchError && error.name === 'TEST_OPERATION_FAILED')
          return { ok: false, reason: 'Conflict' } as const;
        throw error;
      }
    });
  }
}
