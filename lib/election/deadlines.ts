import { holderOf, isLeaseExpired, leaseDeadline, openPingCloses } from './liveness.js';
import {
  CANDIDATE_REFRESH_MS,
  CANDIDATE_VALID_MS,
  ELECTION_DURATION_MS,
  PRE_PING_LEAD_MS,
  PREFERRED_REFRESH_LEAD_MS,
} from './timing.js';
import type { Candidate, LeaseRecord, Millis } from './types.js';

/**
 * When this lease next needs a look even if nothing changes: the holder's deadline (expiry is
 * noticed by a timer, not by the next event), the pre-ping before it, the times candidates go stale
 * or expire, and, while a live holder yields, when its successor is due a ping and when that ping's
 * window closes. 0 means no deadline is pending.
 */
export function nextDeadline(
  lease: LeaseRecord | undefined,
  candidates: readonly Candidate[],
  now: Millis,
): Millis {
  const deadlines: Millis[] = [];
  const leaseEnd = lease !== undefined && holderOf(lease) !== undefined ? leaseDeadline(lease) : undefined;
  if (leaseEnd !== undefined && leaseEnd >= now) deadlines.push(leaseEnd + 1);
  if (leaseEnd !== undefined && leaseEnd - PRE_PING_LEAD_MS > now)
    deadlines.push(leaseEnd - PRE_PING_LEAD_MS);
  // An expired lease kept by its holder because that candidate still counts as alive (it renewed
  // within the window): look again when it stops counting, or a holder that died just after its
  // last renewal would keep the lease until some unrelated event.
  if (leaseEnd !== undefined && leaseEnd < now) {
    for (const c of candidates) {
      const aliveUntil = (c.renewTime ?? Number.NEGATIVE_INFINITY) + ELECTION_DURATION_MS;
      if (c.name === holderOf(lease) && aliveUntil >= now) deadlines.push(aliveUntil + 1);
    }
  }
  for (const preferred of preferredCandidates(lease, candidates, now)) {
    const refreshAt =
      (preferred.renewTime ?? Number.NEGATIVE_INFINITY) + ELECTION_DURATION_MS - PREFERRED_REFRESH_LEAD_MS;
    if (refreshAt > now) deadlines.push(refreshAt);
    // Silence wakes nothing: when its ping goes unanswered, the preference is taken back then.
    const closes = openPingCloses(preferred, now);
    if (closes !== undefined) deadlines.push(closes + 1);
  }
  for (const c of candidates) {
    if (c.renewTime === undefined) continue;
    for (const after of [CANDIDATE_REFRESH_MS, CANDIDATE_VALID_MS]) {
      if (c.renewTime + after >= now) deadlines.push(c.renewTime + after + 1);
    }
  }
  return deadlines.length === 0 ? 0 : Math.min(...deadlines) - now;
}

/** The candidate a live holder was asked to yield to (in a lease group, each cluster's of that name). */
export function preferredCandidates(
  lease: LeaseRecord | undefined,
  candidates: readonly Candidate[],
  now: Millis,
): Candidate[] {
  if (lease?.preferredHolder === undefined || holderOf(lease) === undefined || isLeaseExpired(lease, now))
    return [];
  return candidates.filter((c) => c.name === lease.preferredHolder);
}
