import type { LeaseRecord, Millis } from '../election/types.js';
import { onConditionFailed } from '../errors.js';
import type { MirrorDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { LeaseObservation, StoredLease } from '../ports/store.js';

/**
 * Records a Lease another elector holds (takenByAnother in lease-rules.ts) as the lease's holding,
 * under a new term, with this cluster as the holder's: ingest when a watch shows it, the mirror when
 * it finds one where it was to write (the same test). The mirror then copies it into the group's
 * other clusters, where a restarted coordinated elector finds the Lease held by someone else instead
 * of naming it still, and a better candidate is preferred by the usual rules. A compare-and-set on
 * `stored` as read: false when the record moved on meanwhile (whoever moved it saw more).
 */
export async function recordTakenLease(
  deps: Pick<MirrorDeps, 'store' | 'logger'>,
  key: LeaseKey,
  cluster: string,
  observed: LeaseRecord,
  stored: StoredLease,
  now: Millis,
): Promise<boolean> {
  deps.logger.warn('another elector holds the Lease; it is recorded as the holder, never written over', {
    lease: key,
    cluster,
    holder: observed.holderIdentity,
    recorded: stored.record.holderIdentity,
    term: stored.record.term,
  });
  const seen: LeaseObservation = {
    cluster,
    holderIdentity: observed.holderIdentity ?? '',
    leaseDurationSeconds: observed.leaseDurationSeconds ?? 0,
    renewTime: observed.renewTime ?? 0,
  };
  return deps.store.observeLease(key, seen, stored, now).then(() => true, onConditionFailed(false));
}
