import type { CandidateApiVersion, Millis } from '../election/types.js';
import type { LeaseKey } from './lease-key.js';
import type { LeaseObservation } from './store.js';

/** A namespaced object's identity in one cluster. */
export interface ObjectRef {
  readonly namespace: string;
  readonly name: string;
}

/**
 * What a write came to: success with the new resourceVersion, or the reason it was refused.
 * NotFound is the object missing; NotServed is the API itself missing (a CRD removed, a built-in API
 * the apiserver does not serve), which the apiserver also answers with 404 but without naming an object.
 */
export type WriteResult =
  | {
      readonly ok: true;
      readonly resourceVersion: string;
      /** The object as the apiserver stored it: what survived the write (see lib/sync/lease-fields.ts). */
      readonly object?: RawObject;
    }
  | { readonly ok: false; readonly reason: 'Conflict' | 'AlreadyExists' | 'NotFound' | 'NotServed' };

/** A raw Kubernetes object as the apiserver returned it (validated by lib/api before use). */
export type RawObject = Record<string, unknown> & {
  metadata?: {
    namespace?: string;
    name?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
};

export interface ListResult {
  readonly items: RawObject[];
  readonly resourceVersion: string;
}

export type WatchPhase = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

/**
 * What a cluster has shown it keeps of the Lease fields an apiserver may drop, learned from the
 * answers to our own writes (lib/sync/lease-fields.ts). Per connection; safe to lose.
 */
export type LeaseFieldMemory = Partial<Record<'strategy' | 'preferredHolder', boolean>>;

/**
 * The narrow port the coordinator needs from a cluster: LeaseCandidates and Leases, read, watched
 * and written with optimistic concurrency. Objects travel as raw JSON so that every served
 * LeaseCandidate version goes through the same validation (lib/api) and MicroTime stays a string
 * with 6 digits (the generated typed models turn it into a Date and back into 3 digits).
 */
export interface ClusterPort {
  readonly name: string;
  readonly leaseFieldsKept: LeaseFieldMemory;
  /**
   * The LeaseCandidate API to read in this cluster: the newest built-in version it serves, else the
   * custom resource if it is installed, else undefined (the gate off and no CRD: candidates there
   * cannot register).
   */
  candidateVersion(): Promise<CandidateApiVersion | undefined>;
  listCandidates(version: CandidateApiVersion): Promise<ListResult>;
  listLeases(): Promise<ListResult>;
  /** Leases are watched in `v1`; LeaseCandidates in the API `candidateVersion` chose. */
  watch(
    path: 'leases' | 'leasecandidates',
    version: 'v1' | CandidateApiVersion,
    resourceVersion: string,
    onEvent: (phase: WatchPhase, object: RawObject) => void,
    onDone: (error: unknown) => void,
  ): Promise<AbortController>;
  /** Sets spec.pingTime (a merge patch: it cannot undo the candidate's own renewTime). */
  pingCandidate(version: CandidateApiVersion, ref: ObjectRef, pingTime: string): Promise<WriteResult>;
  deleteCandidate(
    version: CandidateApiVersion,
    ref: ObjectRef,
    resourceVersion: string,
  ): Promise<WriteResult>;
  readLease(ref: ObjectRef): Promise<RawObject | undefined>;
  createLease(lease: RawObject): Promise<WriteResult>;
  /** PUT with metadata.resourceVersion: a 409 means someone wrote in between; re-read and decide again. */
  replaceLease(lease: RawObject): Promise<WriteResult>;
  /**
   * A JSON Patch (RFC 6902). Its `test` operations are the preconditions: a failed one comes back
   * as Conflict (re-read and decide again), like a stale resourceVersion.
   */
  patchLease(ref: ObjectRef, operations: readonly JsonPatchOperation[]): Promise<WriteResult>;
  /** Creates an Event on a Lease. Throws when the apiserver refuses it. */
  recordEvent(event: LeaseEvent): Promise<void>;
}

/**
 * A Kubernetes Event about a Lease (events.k8s.io/v1), as client-go's leader election records one
 * on its Lease: `kubectl describe lease` lists it.
 */
export interface LeaseEvent {
  readonly lease: ObjectRef & { readonly uid?: string; readonly resourceVersion?: string };
  /** `LeaderElection` (client-go's reason for a new leader) or `LeaderPreemption`. */
  readonly reason: 'LeaderElection' | 'LeaderPreemption';
  readonly action: 'Elect' | 'Preempt' | 'Revoke' | 'Withdraw';
  /** One sentence, e.g. "Elected sched-b (term 4): lowest emulation version 1.33.0 of 3 candidates". */
  readonly note: string;
  readonly at: Millis;
}

export type JsonPatchOperation =
  | { readonly op: 'test' | 'add' | 'replace'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string };

/** Where the coordinator finds a registered cluster's client. */
export interface ClusterSource {
  get(name: string): Promise<ClusterPort>;
}

/** A holder's Lease as read in its cluster, and the resourceVersion it was read at. */
export type HolderLeaseSeen = LeaseObservation & {
  readonly resourceVersion?: string;
  /** renewTime shows a part of a millisecond: a client-go stamp, never one of ours (whole milliseconds). */
  readonly subMillisecond?: boolean;
  /** Our write last changed renewTime (true) or another's did (false), as managedFields show. */
  readonly renewTimeOurs?: boolean;
  /** The Lease carries annotations (a patch adds ours to them rather than creating the map). */
  readonly annotated?: boolean;
  /** The Lease shows a takeover's fence of ours (FENCED_HOLDER; holderIdentity then reads ""). */
  readonly fenced?: boolean;
};

/** The holder's cluster answered that it has no such Lease (a takeover then fences by creating it empty). */
export interface HolderLeaseAbsent {
  readonly cluster: string;
  readonly absent: true;
}

export function isLeaseAbsent(read: HolderLeaseSeen | HolderLeaseAbsent): read is HolderLeaseAbsent {
  return 'absent' in read;
}

/**
 * What a lease's holder last wrote to its Lease in its own cluster, read live; HolderLeaseAbsent
 * when the cluster has no such Lease, undefined when it cannot be parsed (or the cluster is one of
 * HTTP heartbeats, without Leases). Throws when the cluster cannot be reached.
 */
export type HolderLeaseReader = (
  cluster: string,
  key: LeaseKey,
) => Promise<HolderLeaseSeen | HolderLeaseAbsent | undefined>;

/** What a fence of a holder's Lease is conditioned on, and what it writes: one of the two below. */
export type HolderLeaseFencing = HolderTakenOff | RevokeTouched;

/** The holder is taken off: the Lease names FENCED_HOLDER. */
export interface HolderTakenOff {
  readonly revoke?: false;
  /**
   * The Lease is taken from its holder only while it is still at this version (as read). Unset: it
   * was read absent, and is created fenced, which fails if it exists by now.
   */
  readonly resourceVersion?: string;
  /** The term of ours the Lease carries after the fence; unset: its annotations are left alone. */
  readonly term?: number;
  /** The Lease as read carries annotations: the term is added to them, else the map is created. */
  readonly annotated?: boolean;
  /** The fence's stamp, on our clock. */
  readonly at: Millis;
  /** The duration the fenced Lease shows (the holder's): how long a legacy elector that sees it waits. */
  readonly leaseDurationSeconds: number;
}

/**
 * The Lease shows our revoke: it is touched (its acquireTime set to the fence's stamp), not
 * replaced, while it is still at the version read. The revoke stands, stamp and all, and a legacy
 * elector sees it change.
 */
export interface RevokeTouched {
  readonly revoke: true;
  readonly resourceVersion: string;
  readonly at: Millis;
}

/**
 * Takes a holder off its own Lease (FENCED_HOLDER, which we read as no holder and a legacy
 * elector as a live holder), while the Lease is still as it was read: true when done, false when it changed since (the holder
 * renewed, or a Lease read absent was created). Throws when the cluster cannot be reached. lib/coordinator/confirm-takeover.ts.
 */
export type HolderLeaseFence = (
  cluster: string,
  key: LeaseKey,
  fencing: HolderLeaseFencing,
) => Promise<boolean>;
