import type { LeaseRecord, Millis } from '../election/types.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { LeaseObservation, LeaseRenewal, StoredLease, TakeoverDeferral } from '../ports/store.js';
import {
  holdingAsRead,
  leaseHeldBy,
  leaseVersionMatches,
  renewalByHolderInItsCluster,
} from './conditions.js';
import { type LeaseChange, type LeaseItem, recordAttributes, renewalChange } from './items.js';
import { LEASE_SK, partitionKey } from './keys.js';
import type { Condition, WritePlan } from './write-plan.js';

/**
 * The lease record's writes, decided from what was read and `now`. Each bumps `version` (so a
 * decision read before it loses its compare-and-set) and names the change for the stream filters
 * in `change`. Pure; the adapters carry the plans out.
 */

/** A holder that renews or releases is heard from: any takeover held off for it is moot. */
export const END_DEFERRAL = ['takeoverNotBefore', 'holderClusterOut'] as const;

/** The whole record, as a decision or a holding seen in a cluster writes it. */
export function planLeasePut(
  request: string,
  key: LeaseKey,
  record: LeaseRecord,
  expectedVersion: number | undefined,
  change: LeaseChange,
  now: Millis,
  extra: Partial<LeaseItem> = {},
): WritePlan {
  const item: LeaseItem = {
    pk: partitionKey(key),
    sk: LEASE_SK,
    kind: 'lease',
    namespace: key.namespace,
    name: key.name,
    ...recordAttributes(record),
    term: record.term,
    ...extra,
    version: (expectedVersion ?? 0) + 1,
    change,
    updatedAt: now,
  };
  return {
    request,
    pk: item.pk,
    sk: LEASE_SK,
    condition: leaseVersionMatches(expectedVersion),
    kind: 'put',
    item,
  };
}

/** Part of the record, changed under `condition`; the record as written comes back. */
export function planLeaseUpdate(
  request: string,
  key: LeaseKey,
  condition: Condition,
  set: Record<string, unknown>,
  now: Millis,
  remove: readonly string[] = [],
): WritePlan {
  return {
    request,
    pk: partitionKey(key),
    sk: LEASE_SK,
    condition,
    kind: 'update',
    set: { ...set, updatedAt: now },
    ...(remove.length > 0 && { remove }),
    increment: 'version',
    returns: 'new',
  };
}

/** A decision: compare-and-set on the version read. */
export function planWriteLease(
  key: LeaseKey,
  record: LeaseRecord,
  expectedVersion: number | undefined,
  now: Millis,
): WritePlan {
  return planLeasePut('writeLease', key, record, expectedVersion, 'decision', now);
}

/**
 * A live holder asked to yield, or no longer (a preference taken back: preferredHolder removed), and
 * the candidates' strategy written: nothing else moves.
 */
export function planAmendLiveLease(
  key: LeaseKey,
  read: StoredLease,
  write: LeaseRecord,
  now: Millis,
): WritePlan {
  return planLeaseUpdate(
    'amendLiveLease',
    key,
    holdingAsRead(read.record),
    {
      ...(write.preferredHolder !== undefined && { preferredHolder: write.preferredHolder }),
      ...(write.preferenceWithdrawnAt !== undefined && {
        preferenceWithdrawnAt: write.preferenceWithdrawnAt,
      }),
      // Written even when undefined: a write without a strategy is refused, not stored.
      strategy: write.strategy,
      change: 'decision',
    },
    now,
    write.preferredHolder === undefined && read.record.preferredHolder !== undefined
      ? ['preferredHolder']
      : [],
  );
}

/** The holder's own renewal or release through our API: liveness moves to now, on our clock. */
export function planRecordRenewal(key: LeaseKey, renewal: LeaseRenewal, now: Millis): WritePlan {
  const releasing = renewal.holderIdentity === '';
  return planLeaseUpdate(
    'recordRenewal',
    key,
    leaseHeldBy(renewal.expectedHolder),
    {
      holderIdentity: renewal.holderIdentity,
      leaseDurationSeconds: renewal.leaseDurationSeconds,
      renewTime: now,
      ...(releasing && { releasedHolder: renewal.expectedHolder, releasedAt: now }),
      change: releasing ? 'release' : 'renewal',
    },
    now,
    // The renewTime on record is no longer when a Lease renewal was seen: the one last seen goes with it.
    // A release through our API is judged on the record's own preference (hasLeft).
    [...END_DEFERRAL, 'observedRenewTime', ...(releasing ? ['releasedYielding'] : [])],
  );
}

/**
 * The hint-confirmed renewal ingest writes, without reading first, for a holder in its own
 * cluster (the holder is unchanged); the renewTime the cluster showed is kept, so an older
 * sighting never counts twice.
 */
export function planRenewObservedLease(
  key: LeaseKey,
  observation: LeaseObservation,
  expectedHolder: string,
  now: Millis,
): WritePlan {
  return planLeaseUpdate(
    'renewObservedLease',
    key,
    renewalByHolderInItsCluster(expectedHolder, observation.cluster, observation.renewTime),
    {
      leaseDurationSeconds: observation.leaseDurationSeconds,
      renewTime: now,
      observedRenewTime: observation.renewTime,
      change: renewalChange(key),
    },
    now,
    END_DEFERRAL,
  );
}

/**
 * A takeover held off until `notBefore`: while the holder's cluster does not answer, the cluster
 * is marked out; once it answers, the mark goes and the holder has until `notBefore`.
 */
export function planDeferTakeover(
  key: LeaseKey,
  expected: StoredLease,
  { notBefore, holderClusterOut }: TakeoverDeferral,
  now: Millis,
): WritePlan {
  return planLeaseUpdate(
    'deferTakeover',
    key,
    leaseVersionMatches(expected.version),
    { takeoverNotBefore: notBefore, ...(holderClusterOut && { holderClusterOut: true }), change: 'deferred' },
    now,
    holderClusterOut ? [] : ['holderClusterOut'],
  );
}
