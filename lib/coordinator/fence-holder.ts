import { holderLeaseSeconds } from '../election/timing.js';
import { ConflictError } from '../errors.js';
import {
  type HolderLeaseAbsent,
  type HolderLeaseFencing,
  type HolderLeaseSeen,
  isLeaseAbsent,
} from '../ports/cluster.js';
import type { CoordinatorDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { StoredLease } from '../ports/store.js';
import type { HolderRead } from './confirm-takeover.js';

/**
 * The last thing before a takeover that names another identity is written (reconcile-lease.ts):
 * the holder's Lease is left naming FENCED_HOLDER (which the takeover check and the mirror read as no
 * holder, ingest as our own write under the term on record, and a legacy elector as a live holder
 * that just changed), under the term on record, on the condition that it is still as read, whomever
 * it named then (fencingOf). A takeover
 * that keeps the holder (moved to the cluster where it renews) fences nothing.
 * client-go's coordinated elector renews a Lease that names it whenever the Lease changed since it
 * last looked, however long expired on our clock: its own last renewal counts as a change when it
 * reads the Lease again after its apiserver stopped answering. A renewal between our read and the
 * successor's naming would then lead beside the successor until its renew deadline (docs/reliability.md,
 * "Findings behind the code"). A Lease that changed since the read is read again (a conflict),
 * and so is one read absent that exists by now (fencingOf).
 */
export async function fenceHolder(
  deps: CoordinatorDeps,
  key: LeaseKey,
  stored: StoredLease | undefined,
  { cluster, seen }: HolderRead,
  successor: string | undefined,
): Promise<void> {
  const fence = deps.fenceHolderLease;
  const holder = stored?.record.holderIdentity;
  if (fence === undefined || stored === undefined || successor === undefined || successor === holder) return;
  const fencing = fencingOf(seen, stored);
  if (fencing === undefined) return;
  const fenced = await fence(cluster, key, { ...fencing, at: deps.clock() });
  if (!fenced)
    throw new ConflictError(
      `lease ${key.namespace}/${key.name}: its holder's Lease changed since it was read; reading it again`,
    );
  deps.logger.info('took the expired holder off its own Lease before naming a successor', {
    lease: key,
    cluster,
    holder,
  });
}

/** Omit over each member of the union: the stamp is taken when the fence is written. */
type Unstamped<F> = F extends unknown ? Omit<F, 'at'> : never;
type FencingWithoutStamp = Unstamped<HolderLeaseFencing>;

/**
 * What the fence is conditioned on: the Lease still at the version read, under the term on record;
 * or, read absent, not there yet. A Lease that names nobody or another (one the decision naming the
 * holder has not reached yet) is fenced too: a mirror pass of that decision could write the holder
 * there, and client-go renew it, between the read and the successor's naming, as where it was
 * absent. (A live other elector is recorded before any fence: confirm-takeover.ts.) So is our revoke,
 * touched rather than replaced: a legacy elector that saw it go up takes it one lease duration later,
 * which can come before the successor's naming reaches the cluster, and the touch restarts that
 * wait; the revoke itself stands, so a step that keeps the holder after all can still take it back
 * under the holder's term. Undefined when the read carries no version to test, or shows a newer term of ours.
 */
function fencingOf(
  seen: HolderLeaseSeen | HolderLeaseAbsent,
  stored: StoredLease,
): FencingWithoutStamp | undefined {
  const { term } = stored.record;
  if (isLeaseAbsent(seen))
    return { term, leaseDurationSeconds: holderLeaseSeconds(stored.record.leaseDurationSeconds, undefined) };
  // A legacy elector's wait is the fence's.
  const leaseDurationSeconds = holderLeaseSeconds(
    stored.record.leaseDurationSeconds,
    seen.leaseDurationSeconds,
  );
  // A Lease under a newer term shows a decision after ours, whose write our stale one is about to
  // lose: it is never written over (docs/design.md, rule 4).
  if (seen.resourceVersion === undefined || (seen.shownTerm ?? 0) > term) return undefined;
  if (seen.revokedAt !== undefined) return { resourceVersion: seen.resourceVersion, revoke: true };
  const raise = seen.shownTerm === undefined || seen.shownTerm < term;
  return {
    resourceVersion: seen.resourceVersion,
    leaseDurationSeconds,
    ...(raise && { term }),
    ...(seen.annotated === true && { annotated: true }),
  };
}
