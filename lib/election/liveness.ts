import {
  CANDIDATE_REFRESH_MS,
  CANDIDATE_VALID_MS,
  ELECTION_DURATION_MS,
  YIELD_RELEASE_WINDOW_MS,
} from './timing.js';
import type { Candidate, LeaseRecord, Millis } from './types.js';

/** A candidate that has not renewed for 30 minutes is out of every election and is collected. */
export function isCandidateExpired(candidate: Candidate, now: Millis): boolean {
  return candidate.renewTime === undefined || candidate.renewTime + CANDIDATE_VALID_MS < now;
}

/** Past 15 minutes without a renew, a candidate is pinged so it renews before it expires. */
export function needsRefresh(candidate: Candidate, now: Millis): boolean {
  return candidate.renewTime === undefined || candidate.renewTime + CANDIDATE_REFRESH_MS < now;
}

/** When the window of a ping `candidate` has not answered closes; undefined if none is open. */
export function openPingCloses(candidate: Candidate, now: Millis): Millis | undefined {
  const { pingTime, renewTime = Number.NEGATIVE_INFINITY } = candidate;
  if (pingTime === undefined || renewTime >= pingTime || pingTime + ELECTION_DURATION_MS <= now)
    return undefined;
  return pingTime + ELECTION_DURATION_MS;
}

export function admissibleCandidates<C extends Candidate>(
  candidates: readonly C[],
  now: Millis,
  lease?: LeaseRecord,
): C[] {
  return candidates.filter((c) => !isCandidateExpired(c, now) && !hasLeft(c, lease));
}

/**
 * The holder that released an unheld Lease is leaving (client-go releases on a clean stop, a
 * rolling restart among them): it takes no part until it heartbeats after its release, and is asked
 * to only when nobody else can lead (leftHoldersToAsk). Otherwise a heartbeat from just before the
 * release counts as proof of life, the departing process is elected again, and the next candidate
 * waits out its lease duration. An identity is one process
 * (docs/clusters.md, "One identity, one process"): its LeaseCandidates in the group's other
 * clusters have left with it. A release while the record prefers another, or soon after the
 * preference was taken back (YIELD_RELEASE_WINDOW_MS), is the holder yielding as asked, not
 * leaving: a holder that keeps its elector running renews its LeaseCandidate only every 5 minutes,
 * and if the one preferred never takes over, it is pinged and named again, as upstream does. One
 * that exits on losing the lease (kube-scheduler) answers no ping, and counts as alive only while
 * its last heartbeat is under 5 s old, as any candidate.
 */
export function hasLeft(candidate: Candidate, lease: LeaseRecord | undefined): boolean {
  if (lease?.releasedHolder === undefined || lease.releasedAt === undefined || holderOf(lease) !== undefined)
    return false;
  if (lease.preferredHolder !== undefined && lease.preferredHolder !== lease.releasedHolder) return false;
  if (lease.releasedYielding === true) return false;
  const withdrawn = lease.preferenceWithdrawnAt;
  if (withdrawn !== undefined && lease.releasedAt - withdrawn <= YIELD_RELEASE_WINDOW_MS) return false;
  return (
    candidate.name === lease.releasedHolder &&
    (candidate.renewTime ?? Number.NEGATIVE_INFINITY) <= lease.releasedAt
  );
}

/**
 * The holder that left (hasLeft), asked once as a last resort when nobody else can lead. A release
 * is read as leaving or as a yield from what the record and the released Lease show, and a yield
 * whose preference was taken back before the Lease showed it reads as leaving; such a holder is
 * alive, and without this nobody leads until its next heartbeat, up to 5 minutes later. With
 * nobody else to lead, a ping costs one write and delays no one: a process that has exited does
 * not answer, and one that is alive renews after its release, so it takes part again (hasLeft).
 * Its heartbeat from before the release still does not count, it is asked once per release, and
 * only LEFT_HOLDER_ASK_DELAY_MS after it (reconcile.ts), when a process shutting down is gone. A
 * candidate that heartbeats over the HTTP API sees the ping only in its next heartbeat's answer,
 * and that heartbeat brings it back by itself.
 */
export function leftHoldersToAsk<C extends Candidate>(
  candidates: readonly C[],
  lease: LeaseRecord | undefined,
  now: Millis,
): C[] {
  const releasedAt = lease?.releasedAt;
  if (releasedAt === undefined) return [];
  return candidates.filter(
    (c) =>
      hasLeft(c, lease) &&
      !isCandidateExpired(c, now) &&
      (c.pingTime === undefined || c.pingTime <= releasedAt),
  );
}

/** Candidates the garbage collector deletes. */
export function collectableCandidates<C extends Candidate>(candidates: readonly C[], now: Millis): C[] {
  return candidates.filter((c) => isCandidateExpired(c, now));
}

/** When the lease stops being live: renewTime + leaseDurationSeconds, or undefined if it never was. */
export function leaseDeadline(lease: LeaseRecord): Millis | undefined {
  if (lease.renewTime === undefined || !lease.leaseDurationSeconds) return undefined;
  return lease.renewTime + lease.leaseDurationSeconds * 1000;
}

export function isLeaseExpired(lease: LeaseRecord, now: Millis): boolean {
  const deadline = leaseDeadline(lease);
  return deadline === undefined || deadline < now;
}

/** nil and "" both mean nobody holds the lease. */
export function holderOf(lease: LeaseRecord | undefined): string | undefined {
  return lease?.holderIdentity ? lease.holderIdentity : undefined;
}

/**
 * The candidate is the holder's own: its name, in the holder's recorded cluster. A lease recorded
 * without that cluster matches a same-named candidate in each cluster.
 */
export function isHolderCandidate(candidate: Candidate, lease: LeaseRecord | undefined): boolean {
  const holder = holderOf(lease);
  return (
    holder !== undefined &&
    candidate.name === holder &&
    (lease?.holderCluster === undefined || candidate.cluster === lease.holderCluster)
  );
}
