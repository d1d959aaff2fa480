import { holderLeaseSeconds } from '../election/timing.js';
import type { Millis } from '../election/types.js';
import { onConditionFailed } from '../errors.js';
import type { MirrorDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { StoredCandidate, StoredLease } from '../ports/store.js';
import type { ClusterLeaseView } from './desired-lease.js';

/**
 * Before a revoke of ours is taken back (the holder put back on its Lease, its successor no longer
 * preferred), the record holds any takeover off until one lease duration after the revoke's stamp,
 * as the revoke itself did. The stamp stands for the holder's last renewal, which the revoke wrote
 * over and the record may not show (ingest keeps renewals unrecorded): put back under the record's
 * older renewal alone, the holder would look expired while it may still lead, and a takeover could
 * name another beside it (docs/reliability.md, "A withdrawn revoke"). The hold-off is on our clock,
 * as the stamp is, and ends when the holder renews (the record's renewals clear it); the Lease keeps
 * the record's renewTime, so no reader mistakes our stamp for one on the holder's clock.
 *
 * True when the pass must read the decision again: the hold-off was written, or the record changed
 * since the pass read it. False when the record already holds the takeover off that long.
 */
async function holdOffBeforeUnrevoke(
  deps: Pick<MirrorDeps, 'store' | 'clock'>,
  key: LeaseKey,
  stored: StoredLease,
  revoked: ClusterLeaseView,
): Promise<boolean> {
  const stamp = revoked.renewTime === undefined ? Number.NaN : Date.parse(revoked.renewTime);
  const leaseMs = holderLeaseSeconds(stored.record.leaseDurationSeconds, revoked.leaseDurationSeconds) * 1000;
  const now = (deps.clock ?? Date.now)();
  // Through the deadline itself: a lease is live at its deadline (isLeaseExpired).
  const notBefore = stamp + leaseMs + 1;
  if (Number.isNaN(notBefore) || notBefore <= now || (stored.takeoverNotBefore ?? 0) >= notBefore)
    return false;
  await deps.store
    .deferTakeover(key, stored, { notBefore, holderClusterOut: false }, now)
    .catch(onConditionFailed(undefined));
  return true;
}

/** A decision as a mirror pass holds it: the lease as stored, and its candidates. */
export interface MirroredDecision {
  readonly lease: StoredLease;
  readonly candidates: readonly StoredCandidate[];
  /** When the pass took it up, on our clock. */
  readonly loadedAt?: Millis;
}

/**
 * Before a mirror pass takes our revoke of this term back (`revoked`: the Lease showing it; unset
 * when the pass takes none back), the decision to plan with again, if any. Only a decision at least
 * as new as the one that revoked takes it back: a pass holding an older one (loaded before the
 * preemption, while another container decided it) would name the holder there again, and it would
 * renew and lead. And the record holds a takeover off first (holdOffBeforeUnrevoke).
 */
export async function beforeUnrevoke(
  deps: MirrorDeps,
  key: LeaseKey,
  decision: MirroredDecision,
  revoked: ClusterLeaseView | undefined,
  reloaded: boolean,
): Promise<MirroredDecision | undefined> {
  if (revoked === undefined) return undefined;
  if (!reloaded || (await holdOffBeforeUnrevoke(deps, key, decision.lease, revoked)))
    return latestDecision(deps, key, decision);
  return undefined;
}

/** The decision as the table has it now; the one held when the lease is gone. */
export async function latestDecision(
  deps: Pick<MirrorDeps, 'store' | 'clock'>,
  key: LeaseKey,
  held: MirroredDecision,
): Promise<MirroredDecision> {
  const { lease, candidates } = await deps.store.loadLease(key);
  return lease === undefined ? held : { lease, candidates, loadedAt: (deps.clock ?? Date.now)() };
}

/** Longer than a mirror pass takes on a cluster that answers in its usual milliseconds. */
export const HELD_UP_MS: Millis = 1_000;

/**
 * The decision the table holds now, where the preference this pass just wrote is no longer in it.
 * A pass held up by a slow cluster can write a preference after the pass that carried its withdrawal
 * found the Lease without one and wrote nothing: the holder would yield to a candidate already
 * passed over (docs/reliability.md, "A holder that yielded to a stale preference"). A pass whose
 * preference landed within HELD_UP_MS of taking up its decision reads nothing back, so the
 * preemption path keeps no extra read. A withdrawal recorded, and mirrored, in that moment still
 * loses to it: the holder then yields to nobody, and its release, which still shows the preference,
 * keeps it in the election (LeaseRecord.releasedYielding).
 */
export async function preferenceTakenBack(
  deps: MirrorDeps,
  key: LeaseKey,
  decision: MirroredDecision,
  plan: { readonly preferredHolder?: string | undefined },
): Promise<MirroredDecision | undefined> {
  const { loadedAt } = decision;
  if (plan.preferredHolder === undefined || loadedAt === undefined) return undefined;
  if ((deps.clock ?? Date.now)() - loadedAt < HELD_UP_MS) return undefined;
  const latest = await latestDecision(deps, key, decision);
  const moved = latest.lease.version !== decision.lease.version;
  return moved && latest.lease.record.preferredHolder !== plan.preferredHolder ? latest : undefined;
}
