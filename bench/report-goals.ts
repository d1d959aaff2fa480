import type { BenchResults } from './bench-results.js';
import { CLIENT_GO_JITTER_FACTOR, p99AfterExpiry, pollWaitP99 } from './client-go-wait.js';
import type { FailoverResult } from './figures/failover.js';
import { RETRY_PERIOD_MS } from './figures/processes.js';
import { row, verdict } from './markdown.js';
import { fleetBill } from './report-cost.js';
import { ms, ratio, summarize } from './stats.js';

/**
 * Issue 16's goals, each judged on this run: ahead of the in-tree controller on every figure, at a
 * quarter of the cost. The per-heartbeat overhead goal is `npm run load`'s, not the bench's.
 */
export const AHEAD_GOALS = {
  /** Failover p99 at most one lease duration and this much more, in the in-process mode. */
  failoverSlackMs: 1000,
  /** Election p50 at most this far above the in-tree controller's. */
  electionP50SlackMs: 10,
  /** Election p99 at most this many times the in-tree controller's. */
  electionP99Ratio: 2,
  /** Dollars a lease-month for the stated fleet (report-cost.ts). */
  costPerLease: 0.35,
} as const;

/** The goal rows a run has the figures for; each names its target and what the run measured. */
export function aheadGoalRows(r: BenchResults): string[] {
  return [
    ...(r.failover ? [failoverGoal(r.failover, r.leaseDurationMs)] : []),
    ...(r.preemption ? [preemptionGoal(r.preemption)] : []),
    ...(r.election ? [electionGoal(r.election)] : []),
    ...costGoal(r),
  ];
}

function failoverGoal(failover: FailoverResult, leaseDurationMs: number): string {
  const ours = summarize(failover.ours);
  const base = summarize(failover.baseline);
  const bound = leaseDurationMs + AHEAD_GOALS.failoverSlackMs;
  return row([
    'Failover',
    `p99 ≤ leaseDuration + ${AHEAD_GOALS.failoverSlackMs / 1000} s = ${ms(bound)}, and ahead of the in-tree controller (floor below)`,
    `p99 ${ms(ours.p99)} (in-tree ${ms(base.p99)})`,
    verdict(ours.p99 <= bound && ours.p99 < base.p99),
  ]);
}

function preemptionGoal(preemption: { ours: number[]; baseline: number[] }): string {
  const ours = summarize(preemption.ours);
  const base = summarize(preemption.baseline);
  return row([
    'Preemption',
    'at or below the in-tree controller, p50 and p99',
    `ratio p50 ${ratio(ours.p50, base.p50)}, p99 ${ratio(ours.p99, base.p99)} (${ms(ours.p50)} / ${ms(ours.p99)} against ${ms(base.p50)} / ${ms(base.p99)})`,
    verdict(ours.p50 <= base.p50 && ours.p99 <= base.p99),
  ]);
}

function electionGoal(election: { ours: number[]; baseline: number[] }): string {
  const ours = summarize(election.ours);
  const base = summarize(election.baseline);
  return row([
    'Election, against the in-tree controller',
    `p50 within ${AHEAD_GOALS.electionP50SlackMs} ms of it, p99 within ${AHEAD_GOALS.electionP99Ratio}× (floor below)`,
    `p50 ${ms(ours.p50)} against ${ms(base.p50)} (${ms(ours.p50 - base.p50)} above); p99 ${ms(ours.p99)} against ${ms(base.p99)} (${ratio(ours.p99, base.p99)}×)`,
    verdict(
      ours.p50 - base.p50 <= AHEAD_GOALS.electionP50SlackMs &&
        ours.p99 <= AHEAD_GOALS.electionP99Ratio * base.p99,
    ),
  ]);
}

function costGoal(r: BenchResults): string[] {
  const bill = fleetBill(r);
  if (bill === undefined) return [];
  return [
    row([
      'Cost',
      `≤ $${AHEAD_GOALS.costPerLease.toFixed(2)} a lease-month for the stated fleet (Cost, counted)`,
      `$${bill.perLease.toFixed(2)} a lease ($${bill.total.toFixed(2)} a month)`,
      verdict(bill.perLease <= AHEAD_GOALS.costPerLease),
    ]),
  ];
}

/**
 * Failover's floor on this machine: the dead leader's lease runs out one lease duration after its
 * last renewal (the bench kills it right after one), and the successor's client-go then leads at
 * its next try once the Lease names it. client-go tries every RetryPeriod, jittered up to 2.2 times
 * it (wait.JitterUntil, factor 1.2), and the in-tree controller's trials draw from the same
 * client-go: their p99s, taken in this run, are the floor with a coordinator that took no time.
 * The wait's own model (client-go-wait.ts), added to the in-tree trials' run-outs, says how much
 * of the goal's bound the lease and the poll leave the coordinator at p99.
 */
export function failoverFloor(failover: FailoverResult, leaseDurationMs: number): string[] {
  const expiry = summarize(failover.parts.baseline.untilExpiry).p99;
  const poll = summarize(failover.parts.baseline.poll).p99;
  const ours = summarize(failover.ours).p99;
  const bound = leaseDurationMs + AHEAD_GOALS.failoverSlackMs;
  const pollP99 = pollWaitP99(RETRY_PERIOD_MS);
  const nextTry = p99AfterExpiry(failover.parts.baseline.untilExpiry, RETRY_PERIOD_MS);
  const room = Math.round(bound - nextTry);
  return [
    `Floor of failover p99: the lease runs out ${ms(expiry)} after the kill (p99 of the in-tree trials; the kill comes right after a renewal) + client-go’s next try once named, ${ms(poll)} (p99 of the in-tree trials; client-go tries every 500 ms, jittered up to 1.1 s) = ${ms(expiry + poll)} (the two p99s added), with a coordinator that took no time; the goal’s bound is ${ms(bound)}, ours p99 ${ms(ours)} (${besideFloor(ours - expiry - poll)}).`,
    '',
    `Named at a moment its tries do not know, client-go waits ${ms(pollP99)} or less for its next try in 99 trials of 100 (the residual of a try every ${RETRY_PERIOD_MS}–${RETRY_PERIOD_MS * (1 + CLIENT_GO_JITTER_FACTOR)} ms); after the lease runs out as it did in the in-tree trials, its next try comes ${ms(nextTry)} or less after the kill in 99 of 100, which leaves the coordinator ${roomLeft(room)}.`,
    '',
  ];
}

/** What the lease and client-go's wait leave of the failover bound, at p99. */
function roomLeft(room: number): string {
  if (room > 0) return `${ms(room)} at p99 within the goal’s bound`;
  if (room === 0) return 'nothing at p99: the lease and the wait alone reach the goal’s bound';
  return `nothing at p99: the lease and the wait alone are ${ms(-room)} past the goal’s bound`;
}

/** Two p99s added lie above the p99 of the sum, so a run's own p99 can come in under that floor. */
function besideFloor(gap: number): string {
  return gap >= 0
    ? `${ms(gap)} above the floor`
    : `${ms(-gap)} below the floor, which adds two p99s and so lies above the p99 of their sum`;
}
