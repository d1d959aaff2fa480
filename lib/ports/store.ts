import type { LeaseCandidateObject } from '../api/leasecandidate.js';
import type { Candidate, LeaseRecord, Millis } from '../election/types.js';
import type { LeaseKey } from './lease-key.js';

/** Why and until when a takeover is held off (lib/coordinator/confirm-takeover.ts). */
export interface TakeoverDeferral {
  readonly notBefore: Millis;
  /** True: the holder's cluster does not answer. False: it answered, the holder has until notBefore. */
  readonly holderClusterOut: boolean;
}

/** The stored lease record with the version its compare-and-set needs. */
export interface StoredLease {
  readonly record: LeaseRecord;
  readonly version: number;
  /** The holder's last renewTime seen in its own cluster (its clock), if ingest recorded one. */
  readonly observedRenewTime?: Millis;
  /**
   * The record's renewTime as stored, where this process judges the record from its own earlier
   * sighting of the renewal on record (lib/coordinator/first-sighting.ts): the stamp the mirror
   * writes is the stored one.
   */
  readonly storedRenewTime?: Millis;
  /**
   * The holder's cluster could not be read when a takeover was due: no takeover before this time,
   * so a holder that comes back with its cluster has a lease duration to renew (lib/coordinator/confirm-takeover.ts).
   */
  readonly takeoverNotBefore?: Millis;
  /**
   * Set while a takeover waits for the holder's cluster to answer at all; cleared by the look that
   * gets an answer (which starts the holder's last lease duration) and by any renewal.
   */
  readonly holderClusterOut?: true;
}

export interface LeaseState {
  readonly lease: StoredLease | undefined;
  readonly candidates: readonly StoredCandidate[];
  /** When the lease's armed timer is due, as read (it may have fired already). */
  readonly timerDueAt?: Millis;
}

/**
 * One lease as a table scan saw it, possibly stale by the time it is looked at. No state: the
 * scan could not show the partition whole, so it must be read before anything is judged.
 */
export interface ScannedLease {
  readonly key: LeaseKey;
  readonly state?: LeaseState;
}

export interface HeartbeatOptions {
  /**
   * The candidate was just created in its cluster (a watch's ADDED event): the create is tried
   * first, which saves the renewal update that would fail on the way to it. Wrong only costs that
   * one failed write back.
   */
  readonly created?: boolean;
}

export interface HeartbeatResult {
  readonly created: boolean;
  readonly candidate: StoredCandidate;
}

/** A candidate as stored: the election view plus what the candidate itself last sent. */
export interface StoredCandidate extends Candidate {
  /** The renewTime the candidate wrote, on its own clock; used only to order its heartbeats. */
  readonly sentRenewTime: Millis;
  /** The object's resourceVersion in its cluster (candidates read from clusters only). */
  readonly resourceVersion?: string;
  /** A ping was sent and no heartbeat has arrived since. */
  readonly awaitingAck?: boolean;
}

/** A timer record just written; the caller delivers it. */
export interface ArmedTimer {
  /** When the timer it replaced was due, if there was one. */
  readonly replaced?: Millis;
}

/**
 * The table, as the coordinator uses it. Every write is conditional, and a write whose condition
 * does not hold throws ConditionFailedError (a ConflictError) carrying the item as it stood; a
 * caller that expects the failure says so (onConditionFailed). Only the batch writes
 * (pingCandidates, deleteCandidates) report per candidate instead, in what they return.
 */
export interface CoordinatorStore {
  /** Stores a heartbeat if it is newer than the stored one; throws StaleHeartbeatError otherwise. */
  putHeartbeat(
    key: LeaseKey,
    cluster: string,
    heartbeat: LeaseCandidateObject & { renewTime: Millis },
    now: Millis,
    options?: HeartbeatOptions,
  ): Promise<HeartbeatResult>;
  /** One strongly consistent read of everything the election needs for a lease. */
  loadLease(key: LeaseKey): Promise<LeaseState>;
  /** Compare-and-set on the version read; fails its condition if someone wrote in between. */
  writeLease(
    key: LeaseKey,
    record: LeaseRecord,
    expectedVersion: number | undefined,
    now: Millis,
  ): Promise<void>;
  /**
   * Changes only `preferredHolder` and `strategy` of a live, held lease (a preemption), provided its
   * holder, term, preferredHolder and strategy are still as read. Renewals that landed meanwhile do
   * not conflict: they move liveness, which asking a live holder to yield does not depend on, and
   * a leader renewing every 500 ms would otherwise make the decision lose its compare-and-set again
   * and again (docs/reliability.md, "Findings behind the code"). Returns the lease as
   * written; fails its condition if the holding changed.
   */
  amendLiveLease(key: LeaseKey, read: StoredLease, write: LeaseRecord, now: Millis): Promise<StoredLease>;
  /** Sets pingTime on each candidate unless it changed since it was read. Returns those pinged. */
  pingCandidates(key: LeaseKey, candidates: readonly Candidate[], now: Millis): Promise<readonly Candidate[]>;
  /** Deletes candidates that have not renewed since they were read. Returns those deleted. */
  deleteCandidates(key: LeaseKey, candidates: readonly Candidate[]): Promise<readonly Candidate[]>;
  /**
   * Records the holder renewing (or releasing, with holder "") the Lease, on the coordinator's
   * clock; fails its condition when the lease is not held by `expectedHolder`.
   */
  recordRenewal(key: LeaseKey, renewal: LeaseRenewal, now: Millis): Promise<StoredLease>;
  /**
   * Records what a cluster's Lease shows in the holder's cluster, on the coordinator's clock:
   * the holder renewing or releasing, or another holder having taken it (a legacy elector). A
   * Lease showing a term of ours above the record's is recorded as a holding under that term
   * (seenHoldingTerm). Fails its condition when the record changed since `expected` was read, or
   * the renewal is not newer than the last.
   */
  observeLease(
    key: LeaseKey,
    observation: LeaseObservation,
    expected: StoredLease | undefined,
    now: Millis,
  ): Promise<void>;
  /**
   * The common Lease event, written without reading first: `expectedHolder` renewed in the
   * cluster it is recorded in. Returns the lease as stored after the write; fails its condition
   * when the record does not match (another holder or cluster, or not newer than the last renewal
   * seen), and the caller then reads and takes observeLease's general path.
   */
  renewObservedLease(
    key: LeaseKey,
    observation: LeaseObservation,
    expectedHolder: string,
    now: Millis,
  ): Promise<StoredLease>;
  /**
   * Holds off a takeover until `notBefore`, with `holderClusterOut` set while the holder's cluster
   * does not answer and cleared once it does. Fails its condition when the record changed since
   * `expected` was read. Wakes neither stream consumer.
   */
  deferTakeover(key: LeaseKey, expected: StoredLease, deferral: TakeoverDeferral, now: Millis): Promise<void>;
  /**
   * Removes a candidate whose object was deleted from its cluster; fails its condition when it
   * renewed since (or is gone).
   */
  removeCandidate(key: LeaseKey, cluster: string, name: string, renewTime: Millis): Promise<void>;
  /**
   * Arms the lease's timer unless an earlier one is pending (then it fails its condition). The
   * caller must deliver the timer it armed, and gets the timer it replaced, to put back if the
   * delivery fails.
   */
  armTimer(key: LeaseKey, dueAt: Millis, now: Millis): Promise<ArmedTimer>;
  /**
   * Takes back a timer armed for `dueAt` whose delivery could not be sent, so that a retry of the
   * step arms and sends it again: puts back the timer it replaced if that one is still pending at
   * `now`, or else removes the record. Fails its condition, changing nothing, if the record no
   * longer shows `dueAt` (another step armed a timer since, and sent it).
   */
  disarmTimer(key: LeaseKey, armed: Millis, replaced: Millis | undefined, now: Millis): Promise<void>;
  /**
   * Every lease partition in the table with its items, for the sweep: one Scan, whose cost is
   * the table's size in 4 KB units rather than one read per item. A partition split across two
   * pages is yielded once with all its items.
   */
  scanLeases(): AsyncIterable<ScannedLease>;
}

export interface LeaseObservation {
  readonly cluster: string;
  /** "" when the holder released the lease. */
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  /** The Lease's renewTime as its writer set it (the holder's clock): only orders observations. */
  readonly renewTime: Millis;
  /** The term of ours the Lease carries (its annotation), if any. */
  readonly shownTerm?: number;
  /**
   * The Lease shows a revoke of ours (REVOKED_HOLDER; holderIdentity then reads ""): its stamp, the
   * old holder's last renewal (the one the revoke replaced) on our clock, no earlier than that
   * renewal was committed and no later than the revoke's write.
   */
  readonly revokedAt?: Millis;
  /** The highest term any Lease of this lease shows, when more than this one were read (adoption). */
  readonly highestShownTerm?: number;
  /**
   * When the renewal was seen on our clock, no earlier than its commit, if before the write's `now`
   * (a renewal ingest kept unrecorded, found by a takeover's read and dated at ingest's first
   * sighting): the liveness recorded. Unset: `now`.
   */
  readonly renewedAt?: Millis;
  /**
   * Read from the holder's cluster just now (the takeover check): the Lease as it stands, newer than
   * any state recorded before `expected` whatever the stamps say, so it is recorded on the record
   * being unchanged since `expected` rather than on its stamp being newer. An older state that
   * ingest recorded late can carry our own stamp, on our clock, which no holder's stamp compares with.
   */
  readonly current?: boolean;
  /** A release whose Lease still asked the holder to yield (LeaseRecord.releasedYielding). */
  readonly yielding?: boolean;
}

export interface LeaseRenewal {
  /** The identity renewing; "" releases the lease. */
  readonly holderIdentity: string;
  /** Who held it before: a renewal is accepted only from the current holder. */
  readonly expectedHolder: string;
  readonly leaseDurationSeconds: number;
}
