import { nextDeadline } from './deadlines.js';
import type { Candidate, ElectionStep, LeaseRecord, Millis } from './types.js';

/*
 * The steps that end a look: nothing to do until the next deadline, a write, an error.
 */

/** Nothing to write: look again at the next deadline of the lease or its candidates. */
export function settled(
  lease: LeaseRecord | undefined,
  candidates: readonly Candidate[],
  now: Millis,
): ElectionStep {
  return {
    action: 'none',
    ping: [],
    write: null,
    requeueAfterMs: nextDeadline(lease, candidates, now),
    error: null,
  };
}

/** A write of `write`, looked at again at its next deadline. */
export function written(
  action: 'create' | 'takeover' | 'preempt',
  write: LeaseRecord,
  candidates: readonly Candidate[],
  now: Millis,
): ElectionStep {
  return { action, ping: [], write, requeueAfterMs: nextDeadline(write, candidates, now), error: null };
}

/** No vote possible: `error` says why. */
export function failed(error: string, requeueAfterMs: Millis): ElectionStep {
  return { action: 'error', ping: [], write: null, requeueAfterMs, error };
}
