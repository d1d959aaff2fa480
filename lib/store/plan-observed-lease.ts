import { seenHoldingTerm } from '../election/terms.js';
import type { LeaseRecord, Millis } from '../election/types.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { LeaseObservation, StoredLease } from '../ports/store.js';
import { leaseVersionMatches, renewalByHolderNewerThanLast } from './conditions.js';
import { renewalChange } from './items.js';
import { END_DEFERRAL, planLeasePut, planLeaseUpdate } from './plan-lease.js';
import type { WritePlan } from './write-plan.js';

/** What a Lease seen in a cluster means for the record read before it. */
export type SeenChange =
  /** The recorded holder renewed: liveness moves to now, on our clock. */
  | 'renewal'
  /** The recorded holder left the Lease empty. */
  | 'release'
  /** Someone else holds it (a legacy elector took an expired lease), or there was no record. */
  | 'new-holding';

export function seenChange(observation: LeaseObservation, expected: StoredLease | undefined): SeenChange {
  if (expected === undefined) return 'new-holding';
  const recorded = expected.record;
  const sameHolder = (recorded.holderIdentity ?? '') === observation.holderIdentity;
  // A term of ours the record has not reached was issued into a record we lost: a new holding.
  if ((observation.shownTerm ?? 0) > recorded.term) return 'new-holding';
  if (sameHolder) return 'renewal';
  return observation.holderIdentity === '' ? 'release' : 'new-holding';
}

/**
 * Records what a cluster's Lease shows, against the record `expected` as read (undefined: none
 * was). A Lease that existed before we decided anything (e.g. held by a legacy elector) is
 * recorded as it is, so the election treats its holder as live instead of overwriting it.
 */
export function planObserveLease(
  key: LeaseKey,
  observation: LeaseObservation,
  expected: StoredLease | undefined,
  now: Millis,
): WritePlan {
  const change = seenChange(observation, expected);
  if (expected === undefined || change === 'new-holding')
    return planNewHolding(key, observation, expected, now);
  const recordedHolder = expected.record.holderIdentity ?? '';
  const released = change === 'release';
  return planLeaseUpdate(
    'observeLease:update',
    key,
    released || observation.current === true
      ? leaseVersionMatches(expected.version)
      : renewalByHolderNewerThanLast(recordedHolder, observation.renewTime),
    {
      holderIdentity: observation.holderIdentity,
      leaseDurationSeconds: observation.leaseDurationSeconds,
      renewTime: released ? now : Math.min(observation.renewedAt ?? now, now),
      observedRenewTime: observation.renewTime,
      ...(released && { releasedHolder: recordedHolder, releasedAt: now }),
      ...(released && observation.yielding === true && { releasedYielding: true }),
      change: released ? 'release' : renewalChange(key),
    },
    now,
    released && observation.yielding !== true ? [...END_DEFERRAL, 'releasedYielding'] : END_DEFERRAL,
  );
}

/** A new holder under a new term (seenHoldingTerm), over the record as read. */
function planNewHolding(
  key: LeaseKey,
  observation: LeaseObservation,
  expected: StoredLease | undefined,
  now: Millis,
): WritePlan {
  const current: LeaseRecord = expected?.record ?? { term: 0 };
  const record: LeaseRecord = {
    ...current,
    holderIdentity: observation.holderIdentity,
    holderCluster: observation.cluster,
    leaseDurationSeconds: observation.leaseDurationSeconds,
    renewTime: now,
    term: seenHoldingTerm(current.term, {
      holder: observation.holderIdentity,
      shownTerm: observation.shownTerm,
      highestShownTerm: observation.highestShownTerm,
    }),
  };
  return planLeasePut('observeLease:put', key, record, expected?.version, 'observed', now, {
    observedRenewTime: observation.renewTime,
  });
}
