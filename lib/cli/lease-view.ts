import type { DecisionRecord } from '../election/decision-record.js';
import { type Ranking, rankCandidates, type Standing, standingOf } from '../election/explain.js';
import { admissibleCandidates, holderOf, leaseDeadline } from '../election/liveness.js';
import { reconcileStep } from '../election/reconcile.js';
import type { ElectionStep, LeaseRecord, Millis } from '../election/types.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { LeaseState } from '../ports/store.js';

/*
 * What `status` and `explain` show of a lease, from what the table holds, judged at `now` with the
 * pure election core: the same ranking and the same next step the coordinator takes.
 */

/** One row of `status`. Times are epoch milliseconds; `expiresInMs` is negative once the lease ran out. */
export interface LeaseStatus {
  readonly scope: string;
  readonly namespace: string;
  readonly name: string;
  readonly holder?: string;
  readonly holderCluster?: string;
  readonly term: number;
  readonly expiresInMs?: Millis;
  readonly preferredHolder?: string;
  readonly candidates: Record<Standing, number>;
  readonly lastDecision?: { readonly at: Millis; readonly message: string };
}

export function leaseStatus(
  key: LeaseKey,
  state: LeaseState,
  last: DecisionRecord | undefined,
  now: Millis,
): LeaseStatus {
  const record = state.lease?.record;
  const holder = holderOf(record);
  const deadline = record === undefined || holder === undefined ? undefined : leaseDeadline(record);
  const candidates: Record<Standing, number> = { live: 0, stale: 0, pinged: 0 };
  for (const c of admissibleCandidates(state.candidates, now, record)) candidates[standingOf(c, now)] += 1;
  return {
    scope: key.scope,
    namespace: key.namespace,
    name: key.name,
    ...(holder !== undefined && { holder }),
    ...(holder !== undefined &&
      record?.holderCluster !== undefined && { holderCluster: record.holderCluster }),
    term: record?.term ?? 0,
    ...(deadline !== undefined && { expiresInMs: deadline - now }),
    ...(record?.preferredHolder !== undefined && { preferredHolder: record.preferredHolder }),
    candidates,
    ...(last !== undefined && { lastDecision: { at: last.at, message: last.message } }),
  };
}

/** What `explain` prints: the ranking, what the coordinator waits for, and the recent decisions. */
export interface LeaseExplanation {
  readonly lease: LeaseStatus;
  readonly ranking: Ranking;
  readonly next: NextStep;
  readonly history: readonly DecisionRecord[];
}

/** The step the coordinator takes on this state now, and when it looks again. */
export interface NextStep {
  readonly action: ElectionStep['action'];
  /** One sentence: what it does or waits for, and until when. */
  readonly summary: string;
  /** When it looks at the lease again on its own (a timer), if it has a deadline. */
  readonly nextLookAt?: Millis;
}

export function explainLease(
  key: LeaseKey,
  state: LeaseState,
  history: readonly DecisionRecord[],
  now: Millis,
): LeaseExplanation {
  const record = state.lease?.record;
  return {
    lease: leaseStatus(key, state, history[0], now),
    ranking: rankCandidates(state.candidates, record, now),
    next: nextStep(state, now),
    history,
  };
}

function nextStep(state: LeaseState, now: Millis): NextStep {
  const record = state.lease?.record;
  const step = reconcileStep({ lease: record, candidates: state.candidates, now });
  const nextLookAt = step.requeueAfterMs > 0 ? now + step.requeueAfterMs : undefined;
  const at = nextLookAt === undefined ? {} : { nextLookAt };
  const deferred = state.lease?.takeoverNotBefore;
  if (deferred !== undefined && deferred > now && (step.action === 'takeover' || step.action === 'create'))
    return {
      action: 'wait',
      summary: state.lease?.holderClusterOut
        ? `takeover held off until ${iso(deferred)}: the holder's cluster does not answer`
        : `takeover held off until ${iso(deferred)}: the holder's cluster answered, its holder may still renew`,
      nextLookAt: deferred,
    };
  const names = (list: readonly { name: string }[]) => list.map((c) => c.name).join(', ');
  switch (step.action) {
    case 'ping':
      return {
        action: 'ping',
        summary: `pings ${names(step.ping)} now, then waits for ${step.ping.length === 1 ? 'its answer' : 'their answers'} until ${iso(now + step.requeueAfterMs)}`,
        ...at,
      };
    case 'wait': {
      const waiting = state.candidates.filter((c) => standingOf(c, now) === 'pinged');
      return {
        action: 'wait',
        summary: `waits for ${names(waiting)} to answer ${waiting.length === 1 ? 'its ping' : 'their pings'} until ${iso(now + step.requeueAfterMs)}`,
        ...at,
      };
    }
    case 'create':
    case 'takeover':
      return {
        action: step.action,
        summary: `elects ${holderOf(step.write ?? undefined) ?? 'nobody'} now`,
        ...at,
      };
    case 'preempt':
      return { action: 'preempt', summary: preemptSummary(record, step), ...at };
    case 'error':
      return { action: 'error', summary: errorSummary(state, step, now), ...at };
    case 'none':
      return { action: 'none', summary: settledSummary(state, now, nextLookAt), ...at };
  }
}

/** A live Lease amended: a request to yield, one taken back (the Withdraw Event), or the strategy alone. */
function preemptSummary(record: LeaseRecord | undefined, step: ElectionStep): string {
  const preferred = step.write?.preferredHolder;
  if (preferred !== undefined) return `asks ${holderOf(record)} to yield to ${preferred} now`;
  if (record?.preferredHolder !== undefined)
    return `keeps ${holderOf(record)}: no longer asks it to yield to ${record.preferredHolder}, now`;
  return `sets the strategy to ${step.write?.strategy}`;
}

/**
 * A step that cannot elect leaves a live holder leading, which is no failure to report: it is what
 * the coordinator does when nobody else answers. A holder asked to yield does not lead on: it
 * releases, or where its cluster drops preferredHolder it is revoked (settledSummary).
 */
function errorSummary(state: LeaseState, step: ElectionStep, now: Millis): string {
  const record = state.lease?.record;
  const holder = holderOf(record);
  const deadline = record === undefined ? undefined : leaseDeadline(record);
  if (holder === undefined || deadline === undefined || deadline < now) return `cannot elect: ${step.error}`;
  const preferred = record?.preferredHolder;
  if (preferred !== undefined)
    return `${holder} is asked to yield to ${preferred}, and the coordinator cannot elect (${step.error}): ${holder} leads until ${letsGo('it', deadline)}`;
  return `${holder} leads on while it renews (its lease runs out at ${iso(deadline)} unless renewed): the coordinator cannot elect another (${step.error})`;
}

/** How a holder asked to yield lets go: the table cannot tell a release from a revoke. */
function letsGo(holder: string, deadline: Millis): string {
  return (
    `${holder} releases or its lease runs out at ${iso(deadline)} (where its cluster drops preferredHolder, ` +
    `${holder} is revoked there and cannot renew)`
  );
}

function settledSummary(state: LeaseState, now: Millis, nextLookAt: Millis | undefined): string {
  const record = state.lease?.record;
  const holder = holderOf(record);
  const deadline = record === undefined ? undefined : leaseDeadline(record);
  const look = nextLookAt === undefined ? 'nothing pending' : `next look at ${iso(nextLookAt)}`;
  if (admissibleCandidates(state.candidates, now, record).length === 0)
    return 'waits for a candidate: none is live';
  if (holder === undefined) return `nothing to decide; ${look}`;
  const preferred = record?.preferredHolder;
  // A holder asked to yield is not waited on to renew: it stops, or, where its cluster drops
  // preferredHolder, the mirror revokes it, which the table does not record.
  if (preferred !== undefined && deadline !== undefined && deadline >= now)
    return `${holder} is asked to yield to ${preferred}, which takes over when ${letsGo(holder, deadline)}; ${look}`;
  if (deadline !== undefined && deadline >= now)
    return `waits for ${holder} to renew before its lease runs out at ${iso(deadline)}; ${look}`;
  return `${holder}'s lease ran out at ${iso(deadline ?? now)} but it still counts as alive; ${look}`;
}

function iso(at: Millis): string {
  return new Date(at).toISOString();
}
