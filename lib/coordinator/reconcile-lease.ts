import { collectableCandidates, holderOf } from '../election/liveness.js';
import { reconcileStep } from '../election/reconcile.js';
import type { ElectionStep, Millis } from '../election/types.js';
import { ConflictError, HolderNewsRecordedError } from '../errors.js';
import type { CoordinatorDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import { noMetrics } from '../ports/metrics.js';
import type { LeaseState, StoredLease } from '../ports/store.js';
import { adoptExistingLease } from './adopt-existing.js';
import { carryOut, type Decision, type Reading } from './carry-out-step.js';
import { withReachableSuccessor } from './confirm-successor.js';
import { confirmTakeover, type HolderRead, heldOff } from './confirm-takeover.js';
import { decideAfterReads } from './decide-after-reads.js';
import { fenceHolder } from './fence-holder.js';
import { judgedFromFirstSighting } from './first-sighting.js';
import { preemptsHolder } from './lease-triage.js';
import { logStep, reportWrittenStep } from './step-metrics.js';

/** A lost compare-and-set means someone else decided first: read again and decide again. */
export const CONFLICT_RETRIES = 3;

/**
 * One reconcile of one lease: read everything in one query, collect expired candidates, take
 * one election step, write it conditionally, and arm the lease's timer for its next deadline.
 * Nothing is remembered between calls (docs/design.md, rule 1), so replays and concurrent calls are safe.
 */
export async function reconcileLease(
  deps: CoordinatorDeps,
  key: LeaseKey,
  options: ReconcileOptions = {},
): Promise<ElectionStep> {
  return (await reconcileLeaseWithOutcome(deps, key, options)).step;
}

export interface ReconcileOptions {
  /**
   * This look is the delivery of the timer armed for this time, taken before it (an SQS message
   * arrives up to a second early; lib/handlers/timer.ts): that timer no longer counts as pending,
   * so the step arms the next one.
   */
  readonly delivering?: Millis;
  /**
   * This look is a hop of the timer armed for this time: a deadline past SQS's 15-minute delay is
   * reached in hops (lib/runtime/sqs-timer-queue.ts), and each arrives long before it. While that
   * timer stays the lease's pending one (the step arms none earlier in its place), the hop is sent
   * on toward it: the step would otherwise find its own timer pending, arm nothing, and leave the
   * deadline to the minute sweep.
   */
  readonly hop?: Millis;
  /** The lease as the caller has just written it: the first attempt reads nothing (KnownLease). */
  readonly known?: KnownLease;
  /**
   * Called as soon as a decision that pings nobody is written, with the lease as it left it (what a
   * mirror pass right after would read back): that pass can start then, beside the timer. The step
   * waits for what it returns (that pass) before it stores its history record, and a lease's first
   * decision or a preemption before it arms its timer too (carryOut).
   */
  readonly onDecided?: (decided: LeaseState) => unknown;
  /**
   * A previous attempt's takeover check recorded what the holder's Lease showed (a renewal, or another
   * elector holding it) and the record did not: this look arms the lease's own timer rather than
   * leave the holder's deadline to a cover that cannot keep it (lease-timer.ts).
   */
  readonly holderNewsRecorded?: boolean;
  /**
   * Called before each attempt after the first: it reads the table afresh, since the table moved
   * past what the first one decided on (`known`), and whatever the caller knew beside that (the
   * Leases it saw, decide-now.ts) is as old by then.
   */
  readonly onRetry?: () => void;
}

export interface ReconcileOutcome {
  readonly step: ElectionStep;
  /** A compare-and-set was lost on the way: someone else wrote a decision for this lease meanwhile. */
  readonly contended: boolean;
}

/**
 * The lease as the caller has just written it (ingest, recording a release), or read beside a write
 * of its own (ingest, storing a new candidate), so that the step it triggers reads nothing first. Its version is what the step's compare-and-set checks, so a state
 * that is no longer current only costs a lost compare-and-set and a retry from a fresh read.
 */
export interface KnownLease {
  readonly state: LeaseState;
  /** Clusters the caller has just heard from: a successor there is not read again (confirm-successor.ts). */
  readonly answered: readonly string[];
}

/** reconcileLease, also telling whether another writer decided this lease at the same time. */
export async function reconcileLeaseWithOutcome(
  deps: CoordinatorDeps,
  key: LeaseKey,
  options: ReconcileOptions = {},
): Promise<ReconcileOutcome> {
  // Only the first attempt may trust what the caller knows: a retry means the table moved past it.
  const { known: _known, ...fresh } = options;
  // A hop goes on once: an attempt that sent it and then lost a compare-and-set leaves it out of
  // the retry, which would otherwise find the same timer pending and send it again.
  let hopSent = false;
  const onHopSent = () => {
    hopSent = true;
  };
  let holderNewsRecorded = options.holderNewsRecorded === true;
  // Recorded news is not a lost race: the look after it always comes, whatever was lost before it,
  // since only that look arms the timer for the holder's new deadline (lease-timer.ts). Escaping
  // instead, the news would leave that deadline to the minute sweep: the timer message's retry
  // (a second later, lib/handlers/timer-backoff.ts) carries no news. Each news needs the holder's Lease
  // to show yet another renewal, so they are bounded as lost compare-and-sets are.
  const tries = { lost: 0, news: 0 };
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) options.onRetry?.();
    const tried = { ...(attempt === 0 ? options : fresh), ...(holderNewsRecorded && { holderNewsRecorded }) };
    try {
      const outcome = await reconcileOnce(deps, key, hopSent ? withoutHop(tried) : tried, onHopSent);
      return { ...outcome, contended: attempt > 0 };
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      const news = error instanceof HolderNewsRecordedError;
      if (++tries[news ? 'news' : 'lost'] > CONFLICT_RETRIES) throw error;
      if (news) holderNewsRecorded = true;
      deps.logger.debug('lost a compare-and-set; deciding again', { lease: key, attempt });
    }
  }
}

function withoutHop({ hop: _hop, ...rest }: ReconcileOptions): ReconcileOptions {
  return rest;
}

/**
 * One attempt, phase by phase: load, collect expired candidates, decide, adopt what the clusters
 * show before a first decision, confirm a takeover with the holder's cluster, confirm the
 * successor, then write, ping and arm the timer together, and log the step.
 */
async function reconcileOnce(
  deps: CoordinatorDeps,
  key: LeaseKey,
  { delivering, hop, known, onDecided, holderNewsRecorded }: ReconcileOptions,
  onHopSent: () => void,
): Promise<{ step: ElectionStep }> {
  const judgedAt = deps.clock();
  const state = judgedFromFirstSighting(deps, key, known?.state ?? (await deps.store.loadLease(key)));
  const expired = await collectExpired(deps, key, state, judgedAt);
  const preempt = preemptsHolder(deps.preemption, key, state);
  const read: Reading = {
    key,
    state,
    judgedAt,
    preempt,
    ...(delivering !== undefined && { delivering }),
    ...(hop !== undefined && { hop }),
    ...(holderNewsRecorded === true && { holderNewsRecorded }),
    onHopSent,
  };
  const justAnswered: string[] = [...(known?.answered ?? [])];
  const first = reconcileStep({
    lease: state.lease?.record,
    candidates: state.candidates,
    now: judgedAt,
    preempt,
  });
  let decision = await adoptBeforeFirstDecision(deps, read, { step: first, now: judgedAt }, justAnswered);
  const confirmed = await confirmBeforeTakeover(deps, read, decision, justAnswered);
  decision = await withReachableSuccessor(
    deps,
    key,
    state,
    confirmed.decision.step,
    { judgedAt, now: confirmed.decision.now },
    justAnswered,
    preempt,
  );
  await fenceBeforeSuccessor(deps, key, state, confirmed.holderRead, decision.step);
  const decided = (lease: StoredLease): unknown =>
    onDecided?.({ lease, candidates: state.candidates.filter((c) => !expired.includes(c)) });
  const { pinged } = await carryOut(deps, read, decision, decided);
  reportWrittenStep(deps.metrics ?? noMetrics, key, {
    before: state.lease?.record,
    step: decision.step,
    pinged,
    candidates: state.candidates,
    now: decision.now,
  });
  logStep(deps.logger, key, decision.step);
  return { step: decision.step };
}

/**
 * Last, once the step is final: a successor named here must not lead beside a holder that renews
 * after the takeover's read of its Lease (fence-holder.ts).
 */
async function fenceBeforeSuccessor(
  deps: CoordinatorDeps,
  key: LeaseKey,
  state: LeaseState,
  holderRead: HolderRead | undefined,
  step: ElectionStep,
): Promise<void> {
  if (holderRead === undefined || step.action !== 'takeover') return;
  await fenceHolder(deps, key, state.lease, holderRead, holderOf(step.write ?? undefined));
}

/**
 * Candidates read from a cluster are collected there first, by the sweep (lib/sync/gc.ts), so
 * that ingest does not bring them back; the table copy of an HTTP candidate goes here.
 */
async function collectExpired(deps: CoordinatorDeps, key: LeaseKey, state: LeaseState, now: Millis) {
  const expired = collectableCandidates(state.candidates, now).filter((c) => c.resourceVersion === undefined);
  if (expired.length > 0) {
    await deps.store.deleteCandidates(key, expired);
    deps.logger.info('collected expired candidates', { lease: key, candidates: expired.map((c) => c.name) });
  }
  return expired;
}

/**
 * No record yet and a decision to write: the clusters may already show a holder (a Lease from
 * before us). Recording it first is a conflict, read again; otherwise decide again after the reads.
 */
async function adoptBeforeFirstDecision(
  deps: CoordinatorDeps,
  { key, state, judgedAt, preempt }: Reading,
  decision: Decision,
  justAnswered: string[],
): Promise<Decision> {
  if (state.lease !== undefined || decision.step.write === null) return decision;
  const adoption = await adoptExistingLease(deps, key);
  if (adoption.adopted)
    throw new ConflictError(`lease ${key.namespace}/${key.name}: recorded what its clusters show first`);
  justAnswered.push(...adoption.answered);
  // The reads can take as long as their timeout: date the step after them.
  const now = deps.clock();
  const step = decideAfterReads(
    { lease: undefined, candidates: state.candidates, preempt },
    { judgedAt, now },
  );
  return { step, now };
}

/** A takeover first reads the holder's own Lease (confirm-takeover.ts): it may have renewed there. */
async function confirmBeforeTakeover(
  deps: CoordinatorDeps,
  { key, state, judgedAt, preempt }: Reading,
  decision: Decision,
  justAnswered: string[],
): Promise<{ decision: Decision; holderRead?: HolderRead }> {
  if (decision.step.action !== 'takeover') return { decision };
  const check = await confirmTakeover(deps, key, state.lease, decision.now);
  if (check.verdict === 'renewed')
    // The holder wrote first, as in a lost compare-and-set: read again and decide again.
    throw new HolderNewsRecordedError(
      `lease ${key.namespace}/${key.name}: its holder's Lease showed what the record did not; recorded it`,
    );
  // The holder's cluster can take as long as its request timeout to answer. Date the step at
  // the time it answered, or the new holder's term would start already partly spent on our
  // clock, and be taken from it again before its first renewal arrives; but judge the
  // successor's proof of life as it stood before the read, or a cluster that times out turns
  // every takeover back into a ping (decide-after-reads.ts).
  const now = deps.clock();
  if (check.verdict === 'proceed' && check.answered !== undefined) justAnswered.push(check.answered);
  const step: ElectionStep =
    check.verdict === 'deferred'
      ? heldOff(state, check.at, now)
      : decideAfterReads(
          { lease: state.lease?.record, candidates: state.candidates, preempt },
          { judgedAt, now },
        );
  const holderRead = check.verdict === 'proceed' ? check.read : undefined;
  return { decision: { step, now }, ...(holderRead !== undefined && { holderRead }) };
}
