import type { Millis } from '../election/types.js';
import type { LeaseKey } from '../ports/lease-key.js';
import { noEarlierTimerPending, timerArmedFor } from './conditions.js';
import { partitionKey, TIMER_SK } from './keys.js';
import type { WritePlan } from './write-plan.js';

/** The lease timer's writes: one record per lease, so one delivery per deadline. */

/** Arms the timer for `dueAt`; returns the record as it was, so the caller learns what it replaced. */
export function planArmTimer(key: LeaseKey, dueAt: Millis, now: Millis): WritePlan {
  return {
    request: 'armTimer',
    pk: partitionKey(key),
    sk: TIMER_SK,
    condition: noEarlierTimerPending(dueAt, now),
    kind: 'update',
    set: { dueAt, kind: 'timer' },
    returns: 'old',
  };
}

/**
 * Takes back a timer armed for `armed` whose delivery failed: puts back the one it replaced if
 * that is still pending at `now`, or else removes the record.
 */
export function planDisarmTimer(
  key: LeaseKey,
  armed: Millis,
  replaced: Millis | undefined,
  now: Millis,
): WritePlan {
  const target = {
    request: 'disarmTimer',
    pk: partitionKey(key),
    sk: TIMER_SK,
    condition: timerArmedFor(armed),
  };
  return replaced !== undefined && replaced > now
    ? { ...target, kind: 'update', set: { dueAt: replaced }, returns: 'new' }
    : { ...target, kind: 'delete' };
}
