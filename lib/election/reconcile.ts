import { messageOrRethrow } from '../errors.js';
import { nextDeadline } from './deadlines.js';
import {
  admissibleCandidates,
  holderOf,
  isHolderCandidate,
  isLeaseExpired,
  leftHoldersToAsk,
  needsRefresh,
} from './liveness.js';
import { compareByStrategy, pickLeader } from './ordering.js';
import {
  countsAsAlive,
  holderCandidate,
  liveHolderCandidate,
  pingPhaseStep,
  prePing,
  refreshPreferred,
} from './pings.js';
import { failed, settled, written } from './steps.js';
import { resolveStrategy } from './strategy.js';
import { DEFAULT_LEASE_DURATION_SECONDS, ELECTION_DURATION_MS, LEFT_HOLDER_ASK_DELAY_MS } from './timing.js';
import type { Candidate, ElectionStep, LeaseRecord, Millis } from './types.js';
import { LEASE_SPEC_FIELDS, ORDERED_STRATEGIES } from './types.js';
import { askedBack, besideStep, preferenceWithdrawn } from './withdrawal.js';

export interface ReconcileInput {
  /** The coordinator's record of the Lease, or undefined if it does not exist yet. */
  readonly lease: LeaseRecord | undefined;
  /** Every stored candidate for this lease, expired ones included. */
  readonly candidates: readonly Candidate[];
  readonly now: Millis;
  /** False: a live holder is never asked to yield (preemption Never). Default true. */
  readonly preempt?: boolean;
}

/**
 * One step of the election for one lease, as upstream's reconcileElectionStep takes it
 * (docs/design.md, U3): decide whether an election is needed, ping the
 * candidates that must prove they are alive, wait for their acks, then create the Lease, take
 * an expired or released one over, or mark a better candidate as preferredHolder.
 *
 * Pure: the caller supplies `now` and performs the returned writes conditionally.
 */
export function reconcileStep(input: ReconcileInput): ElectionStep {
  const { lease, candidates, now, preempt = true } = input;
  const admissible = admissibleCandidates(candidates, now, lease);
  const step = stepAmong(lease, admissible, now, preempt);
  // On an unheld lease (the only kind a holder can have left) an error step names nobody.
  const nobodyCanLead =
    step.write === null && step.ping.length === 0 && (admissible.length === 0 || step.action === 'error');
  const asked = nobodyCanLead ? leftHoldersToAsk(candidates, lease, now) : [];
  if (asked.length === 0) return step;
  const askAt = (lease?.releasedAt ?? now) + LEFT_HOLDER_ASK_DELAY_MS;
  if (now < askAt) {
    const untilAsk = askAt - now + 1;
    return {
      ...step,
      requeueAfterMs: step.requeueAfterMs > 0 ? Math.min(step.requeueAfterMs, untilAsk) : untilAsk,
    };
  }
  return { action: 'ping', ping: asked, write: null, requeueAfterMs: ELECTION_DURATION_MS + 1, error: null };
}

/** Why a vote found nobody: every candidate's proof of life is stale and its ping went unanswered. */
const NO_AVAILABLE_CANDIDATES = 'no available candidates';

/**
 * The step over the candidates admissible under `lease` as recorded. The step without a preference
 * that no longer stands keeps them: a holder that released to yield to it stays in (hasLeft).
 */
function stepAmong(
  lease: LeaseRecord | undefined,
  admissible: readonly Candidate[],
  now: Millis,
  preempt: boolean,
): ElectionStep {
  // A preference for a candidate that is gone (withdrawn, expired) does not stand: the step is the
  // one without it (another candidate preferred at once, a takeover), and where that writes
  // nothing, the preference is taken back by itself, so the live holder does not step down for nobody.
  if (lease?.preferredHolder !== undefined && !admissible.some((c) => c.name === lease.preferredHolder)) {
    const without = stepAmong({ ...lease, preferredHolder: undefined }, admissible, now, preempt);
    if (without.write !== null) return without;
    const withdrawn = preferenceWithdrawn(lease, admissible, now);
    return withdrawn === undefined ? without : besideStep(withdrawn, without);
  }
  // A lease with no live candidates is not ours to manage: leave it, and wait for a candidate.
  if (admissible.length === 0)
    return { action: 'none', ping: [], write: null, requeueAfterMs: 0, error: null };

  const early = prePing(lease, admissible, now) ?? refreshPreferred(lease, admissible, now);
  if (early !== undefined) return early;

  const need = electionNeeded(admissible, lease, now, preempt);
  if (need.error !== undefined) return failed(need.error, nextDeadline(lease, admissible, now));
  // Nobody is to be preferred over the live holder (it is the best, or preemption is Never).
  if (!need.needed) return preferenceWithdrawn(lease, admissible, now) ?? settled(lease, admissible, now);

  return pingPhaseStep(lease, admissible, now) ?? vote(lease, admissible, now, preempt);
}

/** The vote among the candidates that acked: create the Lease, take it over, or prefer the best. */
function vote(
  lease: LeaseRecord | undefined,
  admissible: readonly Candidate[],
  now: Millis,
  preempt: boolean,
): ElectionStep {
  // A live holder's candidate, left unpinged, votes all the same: its renewals prove it alive, and
  // the voters also decide the strategy (the highest binary version's), which the better
  // candidates alone could name differently from all of them.
  const holderVotes = liveHolderCandidate(lease, admissible, now);
  const acked = admissible.filter((c) => countsAsAlive(c, now) || c === holderVotes);
  // Nobody proved to be alive: wait for the next heartbeat rather than spin (upstream noRequeue).
  if (acked.length === 0) return failed(NO_AVAILABLE_CANDIDATES, 0);

  let strategy: string;
  try {
    strategy = resolveStrategy(acked);
  } catch (error) {
    return failed(messageOrRethrow(error), 0);
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
  return updateExisting(lease, electee, strategy, admissible, now, preempt);
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
  preempt = true,
): Need {
  if (lease === undefined) return { needed: true };
  if (candidates.some((c) => needsRefresh(c, now))) return { needed: true };
  let strategy: string | undefined;
  let strategyError: string | undefined;
  try {
    strategy = resolveStrategy(candidates);
  } catch (error) {
    strategyError = messageOrRethrow(error);
  }
  if (strategy !== undefined && !ORDERED_STRATEGIES.has(strategy))
    return { needed: lease.strategy !== strategy };
  const holder = holderOf(lease);
  if (holder === undefined || isLeaseExpired(lease, now)) return { needed: true };
  if (strategyError !== undefined) return { needed: false, error: strategyError };
  // A live holder that may not be preempted keeps the lease whoever else is better.
  if (!preempt) return { needed: false };
  const best = pickLeader(candidates, holder);
  return { needed: best !== undefined && best.name !== holder };
}

function updateExisting(
  lease: LeaseRecord,
  elected: Candidate | undefined,
  strategy: string,
  candidates: readonly Candidate[],
  now: Millis,
  preempt: boolean,
): ElectionStep {
  const electee = elected?.name;
  const expired = isLeaseExpired(lease, now);
  const unheld = holderOf(lease) === undefined;
  const takeOver =
    electee !== undefined &&
    (unheld ||
      (expired && (lease.holderIdentity !== electee || movesCluster(lease, elected, candidates, now))));
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
      releasedHolder: undefined,
      releasedAt: undefined,
      releasedYielding: undefined,
      preferenceWithdrawnAt: undefined,
      strategy,
      term: lease.holderIdentity === electee ? lease.term : lease.term + 1,
    };
  } else if (
    preempt &&
    electee !== undefined &&
    electee !== lease.holderIdentity &&
    outranksHolder(elected, lease, candidates)
  ) {
    // A live holder is never overwritten: ask it to yield.
    next = { ...lease, preferredHolder: electee, strategy };
  } else {
    // The holder stays and nobody outranks it among those who answered: any preference is taken back.
    next = {
      ...lease,
      preferredHolder: undefined,
      strategy,
      ...(lease.preferredHolder !== undefined && { preferenceWithdrawnAt: now }),
    };
  }
  if (sameLease(next, lease)) return settled(lease, candidates, now);
  const step = written(takeOver || expired || unheld ? 'takeover' : 'preempt', next, candidates, now);
  return !takeOver && next.preferredHolder === undefined ? askedBack(step, lease, candidates, now) : step;
}

/**
 * The expired holder is elected again from a copy in another cluster of its group, and its copy in
 * the recorded cluster does not count as alive: its process renews where the record does not look
 * (a LeaseCandidate left behind where it was first elected). It leads there on the mirror's copy
 * of the Lease, which ingest takes for drift and puts back, so the record would stay expired, and
 * the lease be pinged every election window, for as long as the process lives. The holding moves
 * to the copy elected, in the same term.
 */
function movesCluster(
  lease: LeaseRecord,
  elected: Candidate | undefined,
  candidates: readonly Candidate[],
  now: Millis,
): boolean {
  if (elected === undefined || lease.holderCluster === undefined || elected.cluster === lease.holderCluster)
    return false;
  return !candidates.some((c) => isHolderCandidate(c, lease) && countsAsAlive(c, now));
}

/**
 * Deliberate difference from upstream: a live holder is asked to yield only to a candidate the
 * strategy ranks above it. Upstream votes among the candidates that acked, so a holder whose ack
 * is late (its cluster was out when the ping went, the table throttled its answer) drops out of
 * the vote and is asked to yield to a worse candidate, and then that one to the holder again once
 * it answers: two needless handovers. A holder that keeps renewing its lease is alive, ack or not
 * (docs/reliability.md, "Findings behind the code"). A holder with no candidate of its own
 * (a legacy elector) yields as upstream has it.
 */
function outranksHolder(
  electee: Candidate | undefined,
  lease: LeaseRecord,
  candidates: readonly Candidate[],
) {
  const own = holderCandidate(lease, candidates);
  return electee === undefined || own === undefined || compareByStrategy(electee, own) < 0;
}

function sameLease(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.term === b.term &&
    a.holderCluster === b.holderCluster &&
    LEASE_SPEC_FIELDS.every((field) => a[field] === b[field])
  );
}
