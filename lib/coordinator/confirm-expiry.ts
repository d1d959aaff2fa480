import { holderOf, isLeaseExpired } from '../election/liveness.js';
import type { Millis } from '../election/types.js';
import { ConflictError } from '../errors.js';
import { clustersOf, type LeaseKey, type StoredLease } from './ports.js';
import type { CoordinatorDeps } from './reconcile-lease.js';

/** How often a takeover held off by an unreachable holder cluster looks again. */
export const UNREACHABLE_RETRY_MS: Millis = 2_000;

/**
 * What to do when a holder looks expired but its own cluster cannot be read. `Wait`: keep the
 * holder until its cluster answers (never two leaders, even when only we are cut off from it).
 * `TakeOver`: fail over on our record (a lease group keeps a leader through a cluster outage; the
 * old holder may lead again for seconds when its cluster comes back, so check the term).
 */
export type HolderClusterUnreachable = 'Wait' | 'TakeOver';

export type TakeoverVerdict =
  | { readonly verdict: 'proceed' }
  /** The holder renewed where ingest did not see it; that is recorded now: decide again. */
  | { readonly verdict: 'renewed' }
  /** Not yet: look again at `at`. */
  | { readonly verdict: 'deferred'; readonly at: Millis };

const PROCEED: TakeoverVerdict = { verdict: 'proceed' };

/**
 * Before a lease is taken from a holder that looks expired, its own cluster is asked. Our view of
 * its renewals comes through ingest, and an ingest that falls behind (a throttled table, a slow
 * watch) makes a live holder look expired: the takeover would then give the lease a second leader
 * until the first one's renew deadline runs out. If the holder's Lease shows a renewal we have not
 * recorded, it is recorded (which moves the deadline): decide again.
 *
 * A cluster that cannot be read proves nothing either way: the holder may be down with it, or
 * renewing there while only we are cut off. Under `Wait` (the default) the takeover is deferred,
 * and for one lease duration after the cluster answers again, so that a holder coming back with it
 * can renew the Lease that still names it (client-go does, at its next retry) before anyone else
 * is made leader.
 */
export async function confirmTakeover(
  deps: CoordinatorDeps,
  key: LeaseKey,
  stored: StoredLease | undefined,
  now: Millis,
): Promise<TakeoverVerdict> {
  const read = deps.readHolderLease;
  const holder = stored === undefined ? undefined : holderOf(stored.record);
  if (read === undefined || stored === undefined || holder === undefined) return PROCEED;
  if (!isLeaseExpired(stored.record, now)) return PROCEED;
  const cluster = stored.record.holderCluster ?? (clustersOf(key)[0] as string);
  let seen: Awaited<ReturnType<typeof read>>;
  try {
    seen = await read(cluster, key);
  } catch (error) {
    return unreachable(deps, key, stored, cluster, error as Error, now);
  }
  // The last renewal we know of: the one ingest saw, or else the one the mirror wrote with the decision.
  const known = stored.observedRenewTime ?? stored.record.renewTime ?? Number.NEGATIVE_INFINITY;
  if (seen !== undefined && seen.holderIdentity === holder && seen.renewTime > known) {
    deps.logger.warn('the holder renewed unseen by ingest; recording it instead of taking over', {
      lease: key,
      holder,
    });
    await deps.store.observeLease(key, seen, stored, now);
    return { verdict: 'renewed' };
  }
  if (stored.takeoverNotBefore !== undefined && stored.takeoverNotBefore > now)
    return { verdict: 'deferred', at: stored.takeoverNotBefore };
  return PROCEED;
}

async function unreachable(
  deps: CoordinatorDeps,
  key: LeaseKey,
  stored: StoredLease,
  cluster: string,
  error: Error,
  now: Millis,
): Promise<TakeoverVerdict> {
  const policy = deps.holderClusterUnreachable?.(key) ?? 'Wait';
  const holder = stored.record.holderIdentity;
  if (policy === 'TakeOver') {
    deps.logger.warn('cannot read the holder’s cluster; taking over on our record (TakeOver)', {
      lease: key,
      cluster,
      holder,
      error,
    });
    return PROCEED;
  }
  deps.logger.warn('cannot read the holder’s cluster; keeping the lease with its holder (Wait)', {
    lease: key,
    cluster,
    holder,
    error,
  });
  const leaseMs = (stored.record.leaseDurationSeconds ?? 0) * 1000;
  if (!(await deps.store.deferTakeover(key, stored, now + leaseMs + UNREACHABLE_RETRY_MS, now)))
    throw new ConflictError(`lease ${key.namespace}/${key.name} changed while its holder's cluster was read`);
  return { verdict: 'deferred', at: now + UNREACHABLE_RETRY_MS };
}
