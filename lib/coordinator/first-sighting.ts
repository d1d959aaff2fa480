import { holderOf } from '../election/liveness.js';
import type { Millis } from '../election/types.js';
import type { CoordinatorDeps } from '../ports/coordinator.js';
import { clustersOf, type LeaseKey } from '../ports/lease-key.js';
import type { LeaseState, StoredLease } from '../ports/store.js';

/**
 * When this process first saw the renewal on record, if it saw it before the record's date: a
 * record written by another ingest run, whose list showed the renewal seconds after this run's
 * watch did, dates it at that list (docs/design.md, "Renewals kept by ingest").
 */
function firstSightingOf(deps: CoordinatorDeps, key: LeaseKey, stored: StoredLease): Millis | undefined {
  const { record, observedRenewTime } = stored;
  const holder = holderOf(record);
  const sightings = deps.renewalSightings;
  if (sightings === undefined || holder === undefined || observedRenewTime === undefined) return undefined;
  const cluster = record.holderCluster ?? (clustersOf(key)[0] as string);
  const seenAt = sightings.firstSeen(key, { cluster, holder, renewTime: observedRenewTime });
  return seenAt !== undefined && record.renewTime !== undefined && seenAt < record.renewTime
    ? seenAt
    : undefined;
}

/**
 * The lease as this process judges it: the holder's recorded renewal dated at this process's first
 * sighting of it where that came first. A renewal is committed before any list or watch shows it,
 * so the holder's deadline counted from a sighting is never early; counted from the later record,
 * the failover of a holder that died just after it would wait for that record's date.
 */
export function judgedFromFirstSighting(deps: CoordinatorDeps, key: LeaseKey, state: LeaseState): LeaseState {
  const stored = state.lease;
  const seenAt = stored === undefined ? undefined : firstSightingOf(deps, key, stored);
  if (stored === undefined || seenAt === undefined) return state;
  const storedRenewTime = stored.record.renewTime as Millis;
  return { ...state, lease: { ...stored, record: { ...stored.record, renewTime: seenAt }, storedRenewTime } };
}
