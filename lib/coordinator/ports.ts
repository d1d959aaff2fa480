import type { LeaseCandidateObject } from '../api/leasecandidate.js';
import type { Candidate, LeaseRecord, Millis } from '../election/types.js';

/**
 * Identifies one coordinated lease: one table partition. Without lease groups (which arrive
 * with multi-cluster support) a lease is coordinated inside its own cluster.
 */
export interface LeaseKey {
  readonly cluster: string;
  readonly namespace: string;
  readonly name: string;
}

export function leaseKeyOf(cluster: string, candidate: { namespace: string; leaseName: string }): LeaseKey {
  return { cluster, namespace: candidate.namespace, name: candidate.leaseName };
}

/** The stored lease record with the version its compare-and-set needs. */
export interface StoredLease {
  readonly record: LeaseRecord;
  readonly version: number;
}

export interface LeaseState {
  readonly lease: StoredLease | undefined;
  readonly candidates: readonly Candidate[];
}

export interface HeartbeatResult {
  readonly created: boolean;
  readonly candidate: StoredCandidate;
}

/** A candidate as stored: the election view plus what the candidate itself last sent. */
export interface StoredCandidate extends Candidate {
  /** The renewTime the candidate wrote, on its own clock; used only to order its heartbeats. */
  readonly sentRenewTime: Millis;
}

/** The table, as the coordinator uses it. Every write is conditional. */
export interface CoordinatorStore {
  /** Stores a heartbeat if it is newer than the stored one; throws StaleHeartbeatError otherwise. */
  putHeartbeat(
    cluster: string,
    heartbeat: LeaseCandidateObject & { renewTime: Millis },
    now: Millis,
  ): Promise<HeartbeatResult>;
  /** One strongly consistent read of everything the election needs for a lease. */
  loadLease(key: LeaseKey): Promise<LeaseState>;
  /** Compare-and-set on the version read; throws ConflictError if someone wrote in between. */
  writeLease(
    key: LeaseKey,
    record: LeaseRecord,
    expectedVersion: number | undefined,
    now: Millis,
  ): Promise<void>;
  /** Sets pingTime on each candidate unless it changed since it was read. Returns those pinged. */
  pingCandidates(key: LeaseKey, candidates: readonly Candidate[], now: Millis): Promise<readonly Candidate[]>;
  /** Deletes candidates that have not renewed since they were read. */
  deleteCandidates(key: LeaseKey, candidates: readonly Candidate[]): Promise<void>;
  /** Records the holder renewing (or releasing, with holder "") the Lease, on the coordinator's clock. */
  recordRenewal(key: LeaseKey, renewal: LeaseRenewal, now: Millis): Promise<StoredLease>;
  /** Arms the lease's timer unless an earlier one is pending. True if the caller must deliver it. */
  armTimer(key: LeaseKey, dueAt: Millis, now: Millis): Promise<boolean>;
  /** Every lease partition in the table, for the sweep. */
  listLeaseKeys(): AsyncIterable<LeaseKey>;
}

export interface LeaseRenewal {
  /** The identity renewing; "" releases the lease. */
  readonly holderIdentity: string;
  /** Who held it before: a renewal is accepted only from the current holder. */
  readonly expectedHolder: string;
  readonly leaseDurationSeconds: number;
}

/** Delivers "look at this lease again at dueAt". SQS delay queue when deployed, timers locally. */
export interface TimerQueue {
  deliverAt(key: LeaseKey, dueAt: Millis, now: Millis): Promise<void>;
}

export type Clock = () => Millis;
