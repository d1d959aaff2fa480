import type { Millis } from '../election/types.js';
import type { LeaseKey } from './lease-key.js';

/** The coordinator's clock: every expiry is judged on it (docs/design.md, rule 5). */
export type Clock = () => Millis;

/** Delivers "look at this lease again at dueAt". SQS delay queue when deployed, timers locally. */
export interface TimerQueue {
  deliverAt(key: LeaseKey, dueAt: Millis, now: Millis): Promise<void>;
}

/** A lock that at most one holder has at a time: one sweep at a time (lib/store/table-lock.ts). */
export interface SweepLock {
  acquire(owner: string, now: Millis, heldUntil: Millis): Promise<boolean>;
  release(owner: string): Promise<void>;
}
