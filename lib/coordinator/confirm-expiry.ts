import { holderOf, isLeaseExpired } from '../election/liveness.js';
import type { Millis } from '../election/types.js';
import { clustersOf, type LeaseKey, type StoredLease } from './ports.js';
import type { CoordinatorDeps } from './reconcile-lease.js';

/**
 * Before a lease is taken from a holder that looks expired, its own cluster is asked. Our view of
 * its renewals comes through ingest, and an ingest that falls behind (a throttled table, a slow
 * watch) makes a live holder look expired: the takeover would then give the lease a second leader
 * until the first one's renew deadline runs out. If the holder's Lease shows a renewal we have not
 * recorded, it is recorded (which moves the deadline) and true is returned: decide again.
 *
 * A cluster that cannot be read proves nothing, and a holder cut off from its cluster cannot renew
 * either, so the takeover then goes ahead: the check only ever delays a takeover by one read.
 */
export async function holderRenewedUnseen(
  deps: CoordinatorDeps,
  key: LeaseKey,
  stored: StoredLease | undefined,
  now: Millis,
): Promise<boolean> {
  const read = deps.readHolderLease;
  const holder = stored === undefined ? undefined : holderOf(stored.record);
  if (read === undefined || stored === undefined || holder === undefined) return false;
  if (!isLeaseExpired(stored.record, now)) return false;
  const cluster = stored.record.holderCluster ?? (clustersOf(key)[0] as string);
  let seen: Awaited<ReturnType<typeof read>>;
  try {
    seen = await read(cluster, key);
  } catch (error) {
    deps.logger.warn('could not confirm the holder is gone; taking over on our record', {
      lease: key,
      cluster,
      error: error as Error,
    });
    return false;
  }
  if (seen === undefined || seen.holderIdentity !== holder) return false;
  // The last renewal we know of: the one ingest saw, or else the one the mirror wrote with the decision.
  const known = stored.observedRenewTime ?? stored.record.renewTime ?? Number.NEGATIVE_INFINITY;
  if (seen.renewTime <= known) return false;
  deps.logger.warn('the holder renewed unseen by ingest; recording it instead of taking over', {
    lease: key,
    holder,
  });
  await deps.store.observeLease(key, seen, stored, now);
  return true;
}
