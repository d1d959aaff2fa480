import { CoordinatorError } from '../errors.js';
import { admissibleCandidates, holderOf, isLeaseExpired, leaseDeadline, needsRefresh } from './liveness.js';
import { pickLeader } from './ordering.js';
import { resolveStrategy } from './strategy.js';
import {
  CANDIDATE_REFRESH_MS,
  CANDIDATE_VALID_MS,
  DEFAULT_LEASE_DURATION_SECONDS,
  ELECTION_DURATION_MS,
  PRE_PING_LEAD_MS,
} from './timing.js';
import type { Candidate, ElectionStep, LeaseRecord, Millis } from './types.js';
import { LEASE_SPEC_FIELDS, ORDERED_STRATEGIES } from './types.js';

export interface ReconcileInput {
  /** The coordinator's record of the Lease, or undefined if it does not exist yet. */
  readonly lease: LeaseRecord | undefined;
  /** Every stored candidate for this lease, expired ones included. */
  readonly candidates: readonly Candidate[];
  readonly now: Millis;
}

/**
 * One step of the election for one lease, as upstream's reconcileElectionStep takes it
 * (reference/upstream-cle.md §2.5–2.6): decide whether an election is needed, ping the
 * candidates that must prove they are alive, wait for their acks, then create the Lease, take
 * an expired or released one over, or mark a better candidate as preferredHolder.
 *
 * Pure: the caller supplies `now` and performs the returned writes conditionally.
 */
export function reconcileStep({ lease, candidates, now }: ReconcileInput): ElectionStep {
  const admissible = admissibleCandidates(candidates, now);
  // A lease with no live candidates is not ours to manage: leave it, and wait for a candidate.
  if (admissible.length === 0)
    return { action: 'none', ping: [], write: null, requeueAfterMs: 0, error: null };

  const early = prePing(lease, admissible, now) ?? refreshPreferred(lease, admissible, now);
  if (early !== undefined) return early;

  const need = electionNeeded(admissible, lease, now);
  if (need.error !== undefined) return failed(need.error, nextDeadline(lease, admissible, now));
  if (!need.needed) return settled(lease, admissible, now);

  // The holder of an expired lease has already shown it is gone: when others can take over,
  // neither ping it nor wait for it (they were pinged before the deadline; see prePing).
  const expiredHolder = lease !== undefined && isLeaseExpired(lease, now) ? holderOf(lease) : undefined;
  const silentHolder = admissible.some((c) => c.name !== expiredHolder) ? expiredHolder : undefined;
  // Candidates close to expiry are still pinged, since the ping is what refreshes them.
  const mustAnswer = winnerAlreadyAlive(admissible, lease, now)
    ? admissible.filter((c) => needsRefresh(c, now))
    : admissible;
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

  const acked = admissible.filter((c) => countsAsAlive(c, now));
  // Nobody proved to be alive: wait for the next heartbeat rather than spin (upstream noRequeue).
  if (acked.length === 0) return failed('no available candidates', 0);

  let strategy: string;
  try {
    strategy = resolveStrategy(acked);
  } catch (error) {
    return failed(messageOf(error), 0);
  }
  let electee: Candidate | undefined;
  if (ORDERED_STRATEGIES.has(strategy)) {
    electee = pickLeader(acked, holderOf(lease));
    if (electee === undefined) return failed('no acked candidate has valid versions', 0);
  }

  if (lease === undefined) {
    const write: LeaseRecord = {
      holderIdentity: electee?.name,
      ...(electee !== undefined && { holderCluster: electee.cluster }),
      leaseDurationSeconds: DEFAULT_LEASE_DURATION_SECONDS,
      renewTime: now,
      strategy,
      term: electee === undefined ? 0 : 1,
    };
    return written('create', write, admissible, now);
  }
  return updateExisting(lease, electee, strategy, admissible, now);
}

interface Need {
  readonly needed: boolean;
  readonly error?: string;
}

/**
 * Upstream's electionNeeded, with one deliberate difference: a third-party strategy whose name
 * the Lease already carries needs nothing from us, because we never assign its holder. Upstream
 * keeps pinging such leases every 5 s forever.
 */
export function electionNeeded(
  candidates: readonly Candidate[],
  lease: LeaseRecord | undefined,
  now: Millis,
): Need {
  if (lease === undefined) return { needed: true };
  if (candidates.some((c) => needsRefresh(c, now))) return { needed: true };
  let strategy: string | undefined;
  let strategyError: string | undefined;
  try {
    strategy = resolveStrategy(candidates);
  } catch (error) {
    strategyError = messageOf(error);
  }
  if (strategy !== undefined && !ORDERED_STRATEGIES.has(strategy))
    return { needed: lease.strategy !== strategy };
  const holder = holderOf(lease);
  if (holder === undefined || isLeaseExpired(lease, now)) return { needed: true };
  if (strategyError !== undefined) return { needed: false, error: strategyError };
  const best = pickLeader(candidates, holder);
  return { needed: best !== undefined && best.name !== holder };
}

/** A candidate that renewed in the last 5 s counts as alive for a vote. */
function countsAsAlive(candidate: Candidate, now: Millis): boolean {
  return candidate.renewTime !== undefined && candidate.renewTime + ELECTION_DURATION_MS > now;
}

/**
 * True when the strategy's winner over every live candidate already counts as alive: no answer
 * from the others can change the vote, so they are not pinged. Upstream pings them anyway,
 * which puts a ping round trip (or, for a candidate that is gone, a whole 5 s window) into
 * every preemption: the yielding holder is the stale one that gets pinged after its release.
 */
function winnerAlreadyAlive(
  candidates: readonly Candidate[],
  lease: LeaseRecord | undefined,
  now: Millis,
): boolean {
  const strategy = strategyOrUndefined(candidates);
  if (strategy === undefined || !ORDERED_STRATEGIES.has(strategy)) return false;
  const winner = pickLeader(candidates, holderOf(lease));
  // A ping it has not answered yet changes nothing: its renewal inside the window is the same
  // proof of life an answer would be. (The pre-ping before a silent holder's deadline often
  // leaves one outstanding on the very candidate that is about to take over.)
  if (winner === undefined || !countsAsAlive(winner, now)) return false;
  // The vote runs over the candidates that count as alive; their strategy must be the same one.
  return strategyOrUndefined(candidates.filter((c) => countsAsAlive(c, now))) === strategy;
}

function strategyOrUndefined(candidates: readonly Candidate[]): string | undefined {
  try {
    return resolveStrategy(candidates);
  } catch (error) {
    messageOf(error);
    return undefined;
  }
}

interface PingPhase {
  readonly toPing: Candidate[];
  /** Set while some ping is still inside its window: the earliest time the window closes. */
  readonly waitUntil?: Millis;
}

/**
 * Who must be pinged before a vote. A candidate that renewed in the last 5 s counts as alive.
 * One that was pinged and has not answered is waited for until its 5 s window closes, then
 * left out; it is pinged again only if it answered its previous ping.
 */
function pingPhase(candidates: readonly Candidate[], now: Millis, silentHolder?: string): PingPhase {
  const toPing: Candidate[] = [];
  let waitUntil: Millis | undefined;
  for (const c of candidates) {
    const renew = c.renewTime ?? Number.NEGATIVE_INFINITY;
    if (c.name === silentHolder) continue;
    if (c.pingTime !== undefined && c.pingTime + ELECTION_DURATION_MS > now && renew < c.pingTime) {
      const closes = c.pingTime + ELECTION_DURATION_MS;
      waitUntil = waitUntil === undefined ? closes : Math.min(waitUntil, closes);
      continue;
    }
    if (renew + ELECTION_DURATION_MS > now) continue;
    if (c.pingTime === undefined || (c.pingTime + ELECTION_DURATION_MS < now && renew >= c.pingTime)) {
      toPing.push(c);
    }
  }
  return waitUntil === undefined ? { toPing } : { toPing, waitUntil };
}

/**
 * A holder that has not renewed for all but the last PRE_PING_LEAD_MS of its lease is probably
 * gone. Ping the other candidates now, so their answers are in when the lease runs out and the
 * election can happen at the deadline instead of a ping window later. Upstream pings only after
 * expiry, which adds up to 5 s to every failover.
 */
function prePing(
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
 * it shortly before its last renewal leaves the 5 s window. Its LeaseCandidate was usually created
 * just before the preemption, and the holder takes its renew deadline (10 s for kube-scheduler) to
 * let go; without this, the release finds the successor stale and waits for a ping round trip.
 */
function refreshPreferred(
  lease: LeaseRecord | undefined,
  candidates: readonly Candidate[],
  now: Millis,
): ElectionStep | undefined {
  const toPing = preferredCandidates(lease, candidates, now).filter((c) => {
    const renew = c.renewTime ?? Number.NEGATIVE_INFINITY;
    const unanswered = c.pingTime !== undefined && renew < c.pingTime;
    return !unanswered && renew + ELECTION_DURATION_MS <= now + PRE_PING_LEAD_MS;
  });
  if (toPing.length === 0) return undefined;
  return {
    action: 'ping',
    ping: toPing,
    write: null,
    requeueAfterMs: nextDeadline(lease, candidates, now),
    error: null,
  };
}

/** The candidate a live holder was asked to yield to (in a lease group, each cluster's of that name). */
function preferredCandidates(
  lease: LeaseRecord | undefined,
  candidates: readonly Candidate[],
  now: Millis,
): Candidate[] {
  if (lease?.preferredHolder === undefined || holderOf(lease) === undefined || isLeaseExpired(lease, now))
    return [];
  return candidates.filter((c) => c.name === lease.preferredHolder);
}

function updateExisting(
  lease: LeaseRecord,
  elected: Candidate | undefined,
  strategy: string,
  candidates: readonly Candidate[],
  now: Millis,
): ElectionStep {
  const electee = elected?.name;
  const expired = isLeaseExpired(lease, now);
  const unheld = holderOf(lease) === undefined;
  const takeOver = electee !== undefined && (unheld || (expired && lease.holderIdentity !== electee));
  let next: LeaseRecord;
  if (takeOver) {
    // Rule 3 holds here: the holder is gone (released, nil) or its lease has run out.
    next = {
      ...lease,
      holderIdentity: electee,
      holderCluster: elected?.cluster,
      leaseDurationSeconds: DEFAULT_LEASE_DURATION_SECONDS,
      renewTime: now,
      acquireTime: undefined,
      preferredHolder: undefined,
      strategy,
      term: lease.holderIdentity === electee ? lease.term : lease.term + 1,
    };
  } else if (electee !== undefined && electee !== lease.holderIdentity) {
    // A live holder is never overwritten: ask it to yield.
    next = { ...lease, preferredHolder: electee, strategy };
  } else {
    next = { ...lease, strategy };
  }
  if (sameLease(next, lease)) return settled(lease, candidates, now);
  return written(takeOver || expired || unheld ? 'takeover' : 'preempt', next, candidates, now);
}

function sameLease(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.term === b.term &&
    a.holderCluster === b.holderCluster &&
    LEASE_SPEC_FIELDS.every((field) => a[field] === b[field])
  );
}

/**
 * When this lease next needs a look even if nothing changes: the holder's deadline (expiry is
 * noticed by a timer, not by the next event), and the times candidates go stale or expire.
 * 0 means no deadline is pending.
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
      (preferred.renewTime ?? Number.NEGATIVE_INFINITY) + ELECTION_DURATION_MS - PRE_PING_LEAD_MS;
    if (refreshAt > now) deadlines.push(refreshAt);
  }
  for (const c of candidates) {
    if (c.renewTime === undefined) continue;
    for (const after of [CANDIDATE_REFRESH_MS, CANDIDATE_VALID_MS]) {
      if (c.renewTime + after >= now) deadlines.push(c.renewTime + after + 1);
    }
  }
  return deadlines.length === 0 ? 0 : Math.min(...deadlines) - now;
}

function settled(
  lease: LeaseRecord | undefined,
  candidates: readonly Candidate[],
  now: Millis,
): ElectionStep {
  return {
    action: 'none',
    ping: [],
    write: null,
    requeueAfterMs: nextDeadline(lease, candidates, now),
    error: null,
  };
}

function written(
  action: 'create' | 'takeover' | 'preempt',
  write: LeaseRecord,
  candidates: readonly Candidate[],
  now: Millis,
): ElectionStep {
  return { action, ping: [], write, requeueAfterMs: nextDeadline(write, candidates, now), error: null };
}

function failed(error: string, requeueAfterMs: Millis): ElectionStep {
  return { action: 'error', ping: [], write: null, requeueAfterMs, error };
}

function messageOf(error: unknown): string {
  if (error instanceof CoordinatorError) return error.message;
  throw error;
}
