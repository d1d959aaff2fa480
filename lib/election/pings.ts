import { messageOrRethrow } from '../errors.js';
import { nextDeadline, preferredCandidates } from './deadlines.js';
import {
  holderOf,
  isHolderCandidate,
  isLeaseExpired,
  leaseDeadline,
  needsRefresh,
  openPingCloses,
} from './liveness.js';
import { compareByStrategy, hasOrderableVersions, pickBestCandidate, pickLeader } from './ordering.js';
import { resolveStrategy } from './strategy.js';
import { ELECTION_DURATION_MS, PRE_PING_LEAD_MS, PREFERRED_REFRESH_LEAD_MS } from './timing.js';
import type { Candidate, ElectionStep, LeaseRecord, Millis } from './types.js';
import { ORDERED_STRATEGIES } from './types.js';

/*
 * Who must prove to be alive before a vote, and when to ask: upstream's ping phase, and the
 * deliberate additions that keep pings off the critical path of a failover or a preemption.
 */

/** A candidate that renewed in the last 5 s counts as alive for a vote. */
export function countsAsAlive(candidate: Candidate, now: Millis): boolean {
  return candidate.renewTime !== undefined && candidate.renewTime + ELECTION_DURATION_MS > now;
}

/**
 * True when the strategy's winner over every live candidate already counts as alive: no answer
 * from the others can change the vote, so they are not pinged. Upstream pings them anyway,
 * which puts a ping round trip (or, for a candidate that is gone, a whole 5 s window) into
 * every preemption: the yielding holder is the stale one that gets pinged after its release.
 */
export function winnerAlreadyAlive(
  candidates: readonly Candidate[],
  lease: LeaseRecord | undefined,
  now: Millis,
): boolean {
  const strategy = strategyOrUndefined(candidates);
  if (strategy === undefined || !ORDERED_STRATEGIES.has(strategy)) return false;
  const winner = pickLeader(candidates, holderOf(lease));
  // A ping it has not answered yet changes nothing: its renewal inside the window is the same
  // proof of life an answer would be. (The pre-ping before a silent holder's deadline often
  // leaves one outstanding on the very candidate that is about to take over.) The winner is an
  // identity: in a lease group it may have a candidate in several clusters, and one left behind
  // in the cluster the order names first must not hide the copy that renews.
  if (winner === undefined || !candidates.some((c) => isAliveCopyOf(winner, c, now))) return false;
  // The vote runs over the candidates that count as alive; their strategy must be the same one.
  return strategyOrUndefined(candidates.filter((c) => countsAsAlive(c, now))) === strategy;
}

/** `candidate` is `winner`'s identity, ranked as it is, and counts as alive. */
function isAliveCopyOf(winner: Candidate, candidate: Candidate, now: Millis): boolean {
  return (
    candidate.name === winner.name &&
    compareByStrategy(candidate, winner) === 0 &&
    countsAsAlive(candidate, now)
  );
}

/**
 * The live holder's own candidate. Several may match (a lease recorded without its holder's
 * cluster): the best of them answers, so no verdict depends on their order.
 */
export function holderCandidate(lease: LeaseRecord, candidates: readonly Candidate[]): Candidate | undefined {
  return pickBestCandidate(candidates.filter((c) => isHolderCandidate(c, lease)));
}

/**
 * Who must answer before a vote while a live holder with a candidate of its own keeps the lease:
 * the candidates ranked above it (a live holder yields to no other; reconcile.ts, outranksHolder)
 * and those due their 15-minute refresh. The holder's renewals prove it alive, and a candidate
 * ranked at or below it cannot change the vote: pinging them would run the same vote again at
 * every look while a better candidate stays silent (a pod killed without withdrawing its
 * LeaseCandidate, which stands for up to 30 minutes). Undefined otherwise: all must answer.
 */
export function contendersOfLiveHolder(
  lease: LeaseRecord | undefined,
  candidates: readonly Candidate[],
  now: Millis,
): Candidate[] | undefined {
  const own = liveHolderCandidate(lease, candidates, now);
  if (own === undefined) return undefined;
  return candidates.filter(
    (c) => needsRefresh(c, now) || (hasOrderableVersions(c) && compareByStrategy(c, own) < 0),
  );
}

/**
 * The candidate of a holder that keeps its lease by renewing it, under an ordered strategy: its
 * renewals prove it alive, so it is not pinged (contendersOfLiveHolder) and votes all the same.
 */
export function liveHolderCandidate(
  lease: LeaseRecord | undefined,
  candidates: readonly Candidate[],
  now: Millis,
): Candidate | undefined {
  if (lease === undefined || holderOf(lease) === undefined || isLeaseExpired(lease, now)) return undefined;
  const strategy = strategyOrUndefined(candidates);
  if (strategy === undefined || !ORDERED_STRATEGIES.has(strategy)) return undefined;
  return holderCandidate(lease, candidates);
}

function strategyOrUndefined(candidates: readonly Candidate[]): string | undefined {
  try {
    return resolveStrategy(candidates);
  } catch (error) {
    messageOrRethrow(error);
    return undefined;
  }
}

/** The ping phase: candidates that must prove they are alive are pinged, or their acks awaited. */
export function pingPhaseStep(
  lease: LeaseRecord | undefined,
  admissible: readonly Candidate[],
  now: Millis,
): ElectionStep | undefined {
  // The holder of an expired lease has probably gone: while others can still take over, neither
  // ping it nor wait for it (they were pinged before the deadline; see prePing). Once all of them
  // have let a ping go unanswered, it is asked too, since it may be alive and waiting to be named
  // again. So is a holder we asked to yield (yieldingAsAsked), whatever the others do.
  const expiredHolder = lease !== undefined && isLeaseExpired(lease, now) ? holderOf(lease) : undefined;
  const unanswered = new Set(unansweredPings(admissible, now));
  const othersCanTakeOver = admissible.some((c) => c.name !== expiredHolder && !unanswered.has(c));
  const silentHolder =
    othersCanTakeOver && !yieldingAsAsked(lease, expiredHolder, admissible, now) ? expiredHolder : undefined;
  // Candidates close to expiry are still pinged, since the ping is what refreshes them.
  const mustAnswer = winnerAlreadyAlive(admissible, lease, now)
    ? admissible.filter((c) => needsRefresh(c, now))
    : (contendersOfLiveHolder(lease, admissible, now) ?? admissible);
  const pings = pingPhase(mustAnswer, now, silentHolder);
  if (pings.toPing.length > 0) {
    return {
      action: 'ping',
      ping: pings.toPing,
      write: null,
      // Look strictly after the window closes: at its last millisecond a candidate that acked in
      // the ping's own millisecond is neither fresh nor re-pingable, and the election would stall.
      requeueAfterMs: ELECTION_DURATION_MS + 1,
      error: null,
    };
  }
  if (pings.waitUntil !== undefined) {
    return { action: 'wait', ping: [], write: null, requeueAfterMs: pings.waitUntil - now + 1, error: null };
  }
  return undefined;
}

/**
 * The expired holder stopped renewing because we asked it to, so its lease running out says nothing
 * of whether it is alive: a preference for another stands (gate off, its Lease revoked), or was taken
 * back less than a ping window ago. client-go sees its Lease given back only at its next retry, so
 * the lease can run out first. The withdrawal pinged it (withdrawal.ts, askedBack), or, alive then,
 * it is pinged once stale; a ping sent inside that window is waited for to its close, also by a look
 * that another answer of the same round wakes after the window, so the asking lasts at most two
 * windows (YIELD_RELEASE_WINDOW_MS). When the one it was to yield to has not answered, a worse
 * candidate taking over would only be preempted by it again. A holder nobody asked is not waited
 * for, even with a ping open (its 15-minute refresh): its silence is the failover.
 */
function yieldingAsAsked(
  lease: LeaseRecord | undefined,
  expiredHolder: string | undefined,
  candidates: readonly Candidate[],
  now: Millis,
): boolean {
  if (lease === undefined || expiredHolder === undefined) return false;
  if (lease.preferredHolder !== undefined) return lease.preferredHolder !== expiredHolder;
  const withdrawn = lease.preferenceWithdrawnAt;
  if (withdrawn === undefined) return false;
  if (now < withdrawn + ELECTION_DURATION_MS) return true;
  return candidates.some(
    (c) =>
      c.name === expiredHolder &&
      c.pingTime !== undefined &&
      c.pingTime >= withdrawn &&
      c.pingTime < withdrawn + ELECTION_DURATION_MS &&
      openPingCloses(c, now) !== undefined,
  );
}

export interface PingPhase {
  readonly toPing: Candidate[];
  /** Set while some ping is still inside its window: the earliest time the window closes. */
  readonly waitUntil?: Millis;
}

/**
 * Who must be pinged before a vote. A candidate that renewed in the last 5 s counts as alive.
 * One that was pinged and has not answered is waited for until its 5 s window closes, then
 * left out; it is pinged again only if it answered its previous ping.
 *
 * A round of pings goes to those that count as alive as well (unless a ping to them is still
 * unanswered): the vote needs them all alive at once, and their answers then come in together.
 * Pinged only once stale, candidates fall out of step where the way from a ping to the look its
 * answer sets off (the mirror's write, the answer, ingest, the stream) is longer than the window
 * less the way back: each look finds another stale and pings it, and no vote comes
 * (docs/reliability.md, "Findings behind the code").
 */
export function pingPhase(candidates: readonly Candidate[], now: Millis, silentHolder?: string): PingPhase {
  const toPing: Candidate[] = [];
  const alive = new Set<Candidate>();
  let waitUntil: Millis | undefined;
  for (const c of candidates) {
    const renew = c.renewTime ?? Number.NEGATIVE_INFINITY;
    if (c.name === silentHolder) continue;
    const closes = openPingCloses(c, now);
    if (closes !== undefined) {
      waitUntil = waitUntil === undefined ? closes : Math.min(waitUntil, closes);
      continue;
    }
    if (renew + ELECTION_DURATION_MS > now) alive.add(c);
    else if (c.pingTime === undefined || (c.pingTime + ELECTION_DURATION_MS < now && renew >= c.pingTime)) {
      toPing.push(c);
    }
  }
  const round = toPing.length === 0 ? toPing : candidates.filter((c) => alive.has(c) || toPing.includes(c));
  return waitUntil === undefined ? { toPing: round } : { toPing: round, waitUntil };
}

/**
 * A holder that has not renewed for all but the last PRE_PING_LEAD_MS of its lease is probably
 * gone. Ping the other candidates now, so their answers are in when the lease runs out and the
 * election can happen at the deadline instead of a ping window later. Upstream pings only after
 * expiry, which adds up to 5 s to every failover.
 */
export function prePing(
  lease: LeaseRecord | undefined,
  candidates: readonly Candidate[],
  now: Millis,
): ElectionStep | undefined {
  const holder = holderOf(lease);
  const deadline = lease === undefined ? undefined : leaseDeadline(lease);
  if (holder === undefined || deadline === undefined || now > deadline || now < deadline - PRE_PING_LEAD_MS) {
    return undefined;
  }
  // Those who would not count as alive at the deadline, unless a ping to them is still unanswered.
  const toPing = candidates.filter((c) => {
    const renew = c.renewTime ?? Number.NEGATIVE_INFINITY;
    const unanswered = c.pingTime !== undefined && renew < c.pingTime;
    return c.name !== holder && renew + ELECTION_DURATION_MS <= deadline + 1 && !unanswered;
  });
  if (toPing.length === 0) return undefined;
  return { action: 'ping', ping: toPing, write: null, requeueAfterMs: deadline + 1 - now, error: null };
}

/**
 * While a live holder is asked to yield, keep the candidate it yields to counting as alive: ping
 * it well before its last renewal leaves the 5 s window (PREFERRED_REFRESH_LEAD_MS), so its answer
 * is in before the holder lets go. Its LeaseCandidate was usually created
 * just before the preemption, and the holder takes its renew deadline (10 s for kube-scheduler) to
 * let go; without this, the release finds the successor stale and waits for a ping round trip.
 */
export function refreshPreferred(
  lease: LeaseRecord | undefined,
  candidates: readonly Candidate[],
  now: Millis,
): ElectionStep | undefined {
  const toPing = preferredCandidates(lease, candidates, now).filter((c) => {
    const renew = c.renewTime ?? Number.NEGATIVE_INFINITY;
    const unanswered = c.pingTime !== undefined && renew < c.pingTime;
    return !unanswered && renew + ELECTION_DURATION_MS <= now + PREFERRED_REFRESH_LEAD_MS;
  });
  if (toPing.length === 0) return undefined;
  // Look again when this ping's window closes, unless a deadline comes first: an answer wakes the
  // lease by itself, silence does not, and a preference for one that went silent is taken back
  // then (withdrawal.ts), while the holder may still renew instead of stepping down for nobody.
  const later = nextDeadline(lease, candidates, now);
  return {
    action: 'ping',
    ping: toPing,
    write: null,
    requeueAfterMs: later > 0 ? Math.min(later, ELECTION_DURATION_MS + 1) : ELECTION_DURATION_MS + 1,
    error: null,
  };
}

/** Candidates pinged whose 5 s window closed with no renewal after the ping: a vote leaves them out. */
export function unansweredPings<C extends Candidate>(candidates: readonly C[], now: Millis): C[] {
  return candidates.filter(
    (c) =>
      c.pingTime !== undefined &&
      c.pingTime + ELECTION_DURATION_MS <= now &&
      (c.renewTime ?? Number.NEGATIVE_INFINITY) < c.pingTime,
  );
}
