import type { Millis } from '../election/types.js';
import type { LeaseKey } from './lease-key.js';

/** The coordinator's clock: every expiry is judged on it (docs/design.md, rule 5). */
export type Clock = () => Millis;

/** Delivers "look at this lease again at dueAt". SQS delay queue when deployed, timers locally. */
export interface TimerQueue {
  deliverAt(key: LeaseKey, dueAt: Millis, now: Millis): Promise<void>;
}

/** A delivered timer message that failed, and how long it stays invisible before it comes back. */
export interface Redelivery {
  /** The delivery's handle (SQS: the record's receiptHandle). */
  readonly receiptHandle: string;
  readonly afterSeconds: number;
}

/**
 * Brings timer messages that failed back after a short back-off (lib/handlers/timer-backoff.ts)
 * instead of the queue's visibility timeout: SQS ChangeMessageVisibilityBatch when deployed, the
 * local queue's own retry locally. Rejects with RedeliveryError naming the messages it could not
 * change; those come back after the visibility timeout.
 */
export interface TimerRedelivery {
  redeliverAfter(messages: readonly Redelivery[]): Promise<void>;
}

/** A lock that at most one holder has at a time: one sweep at a time (lib/store/table-lock.ts). */
export interface SweepLock {
  acquire(owner: string, now: Millis, heldUntil: Millis): Promise<boolean>;
  release(owner: string): Promise<void>;
}

/**
 * Ingest's promise to keep held leases' own deadlines (docs/design.md, "Timers kept by ingest"): a
 * live ingest run that watches a cluster takes the pre-ping and expiry steps of the leases held
 * there when they come due, so a step that finds its next deadline to be only its live holder's
 * arms no timer for it. A promise for liveness only: every step it takes is the same reconcile.
 */
export interface TimerCover {
  /** The clusters a live cover names at `now` (lib/store/timer-cover.ts reads them from the table). */
  coveredClusters(now: Millis): Promise<ReadonlySet<string>>;
  /** Records that a run covers `clusters` until `until` (ingest, every few seconds). */
  extend(clusters: readonly string[], until: Millis): Promise<void>;
  /** Takes a holder deadline a step left to the cover: ingest's own steps keep it in memory. */
  keep?(key: LeaseKey, holder: string, dueAt: Millis): void;
}
