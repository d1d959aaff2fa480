import { holderOf, openPingCloses } from './liveness.js';
import { countsAsAlive } from './pings.js';
import { written } from './steps.js';
import type { Candidate, ElectionStep, LeaseRecord, Millis } from './types.js';

/**
 * A holder's preference taken back: the amendment that removes preferredHolder (and, through the
 * mirror, the Lease's field and our annotation). A holder still asked to yield to a candidate that
 * has gone, or that no longer outranks it, would step down for nobody, and the lease would be
 * without a leader until the next election. Its lease may have run out meanwhile and be kept for it,
 * alive (nextDeadline): where the cluster drops preferredHolder its Lease was revoked for the
 * preferred one, and only without the preference does the mirror write the holder back, for
 * client-go to lead again. Undefined when there is no preference, or no holder.
 */
export function preferenceWithdrawn(
  lease: LeaseRecord | undefined,
  candidates: readonly Candidate[],
  now: Millis,
): ElectionStep | undefined {
  if (lease?.preferredHolder === undefined || holderOf(lease) === undefined) return undefined;
  return askedBack(
    written('preempt', { ...lease, preferredHolder: undefined, preferenceWithdrawnAt: now }, candidates, now),
    lease,
    candidates,
    now,
  );
}

/**
 * `withdrawal` with the holder's candidates pinged (each copy of its name: in a lease group the one
 * recorded may be a LeaseCandidate left behind), unless one counts as alive or a ping to one is
 * open. Where the cluster drops preferredHolder, the holder stopped renewing when its Lease was
 * revoked, and client-go sees the Lease given back only at its next retry: the lease can run out
 * first, and an expired holder nobody asked is passed over for any other live candidate
 * (pingPhaseStep), which it would then preempt again. Its answer, or its open ping, keeps it in
 * the vote at the deadline. Where the holder kept renewing, it is one ping more.
 */
export function askedBack(
  withdrawal: ElectionStep,
  lease: LeaseRecord,
  candidates: readonly Candidate[],
  now: Millis,
): ElectionStep {
  if (lease.preferredHolder === undefined) return withdrawal;
  const copies = candidates.filter((c) => c.name === holderOf(lease));
  if (copies.some((c) => countsAsAlive(c, now) || openPingCloses(c, now) !== undefined)) return withdrawal;
  return pingingAlso(withdrawal, copies);
}

/**
 * A preference's withdrawal, with what the step without the preference does beside it: its pings
 * sent, and its next look kept when it comes first (a ping window's end). Only a timer wakes a
 * lease after a write of ours, so a withdrawal that dropped them would leave a better candidate
 * unasked until the holder's pre-ping, up to a lease duration later.
 */
export function besideStep(withdrawn: ElectionStep, without: ElectionStep): ElectionStep {
  const looks = [withdrawn.requeueAfterMs, without.requeueAfterMs].filter((ms) => ms > 0);
  const requeueAfterMs = looks.length === 0 ? 0 : Math.min(...looks);
  return { ...pingingAlso(withdrawn, without.ping), requeueAfterMs };
}

/** `step` pinging `more` as well, each candidate once. */
function pingingAlso(step: ElectionStep, more: readonly Candidate[]): ElectionStep {
  return { ...step, ping: [...step.ping, ...more.filter((c) => !step.ping.includes(c))] };
}
