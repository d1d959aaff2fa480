import type { PairedSamples } from './figures/election.js';
import type { FailoverParts } from './figures/failover.js';
import type { PreemptionParts } from './figures/preemption.js';
import { row } from './markdown.js';
import { ms, ratio, summarize } from './stats.js';

/** A sample's median and 99th percentile, as a report cell. */
export function p50p99(samples: readonly number[]): string {
  const s = summarize(samples);
  return `${ms(s.p50)} / ${ms(s.p99)}`;
}

/** A figure's split, and how many of its trials ran at once per system. */
interface SplitFigure<P> {
  readonly parts: { readonly ours: P; readonly baseline: P };
  readonly concurrency?: number;
}

/**
 * Trials run at once share DynamoDB Local and the coordinator's process, so each of their writes
 * waits on the others': the heading says so, since the election figure runs one trial at a time
 * (docs/benchmark.md, "Where the preemption's decision part goes").
 */
function atOnce(concurrency: number | undefined): string {
  if (concurrency === undefined) return '';
  return concurrency === 1
    ? ', one lease per system at a time'
    : `, ${concurrency} leases per system at a time`;
}

/** A figure's trials split into parts (from the Lease's watch), ours beside the in-tree controller's. */
function partsTable<P extends { poll: readonly number[] }>(
  figure: string,
  { parts, concurrency }: SplitFigure<P>,
  splits: readonly (readonly [string, (p: P) => readonly number[]])[],
): string[] {
  return [
    `Where ${figure} time goes (p50 / p99 of each part; ${parts.ours.poll.length} and ${parts.baseline.poll.length} trials split${atOnce(concurrency)}):`,
    '',
    row(['part', 'ours', 'in-tree']),
    row(['---', '---', '---']),
    ...splits.map(([what, pick]) => row([what, p50p99(pick(parts.ours)), p50p99(pick(parts.baseline))])),
    '',
  ];
}

export const FAILOVER_SPLITS: readonly (readonly [string, (p: FailoverParts) => readonly number[]])[] = [
  ['kill → the dead leader’s lease runs out (its last renewal + leaseDuration)', (p) => p.untilExpiry],
  ['lease runs out → the Lease names the next leader (the coordinator)', (p) => p.coordinator],
  ['the Lease names it → it leads (client-go’s next poll)', (p) => p.poll],
];

/** The failover split at the lease running out and at the Lease naming the next leader. */
export function failoverParts(figure: SplitFigure<FailoverParts>): string[] {
  return partsTable('failover', figure, FAILOVER_SPLITS);
}

/** The preemption split at the Lease naming the preferred holder, the holder letting go, and the takeover. */
export function preemptionParts(figure: SplitFigure<PreemptionParts>): string[] {
  const { parts } = figure;
  return partsTable('preemption', figure, [
    [
      'process start → the Lease names it preferredHolder (start-up, its LeaseCandidate, the decision)',
      (p) => p.decide,
    ],
    ...registerSplits(parts),
    ['preferredHolder shown → the holder lets go (client-go’s next renew)', (p) => p.yield],
    ['the holder let go → the Lease names the new leader (the takeover)', (p) => p.takeover],
    ['the Lease names it → it leads (client-go’s next poll)', (p) => p.poll],
  ]);
}

/**
 * The first part split where the LeaseCandidate first showed, when every trial saw it (runs saved
 * before that mark have none): start-up, then ingest, the decision and the Lease write.
 */
function registerSplits(parts: {
  ours: PreemptionParts;
  baseline: PreemptionParts;
}): (readonly [string, (p: PreemptionParts) => readonly number[]])[] {
  const complete = (p: PreemptionParts) => p.register?.length === p.decide.length;
  if (!complete(parts.ours) || !complete(parts.baseline)) return [];
  return [
    [
      'of which: process start → its LeaseCandidate shows (start-up, client-go’s create)',
      (p) => p.register ?? [],
    ],
    [
      'of which: its LeaseCandidate shows → the Lease names it preferredHolder (the coordinator)',
      (p) => p.decide.map((d, i) => d - (p.register?.[i] ?? 0)),
    ],
  ];
}

/** One figure's row: ours beside the in-tree controller's, p50 / p95 / p99 and their ratios. */
export function latencyRow(figure: string, pair: PairedSamples): string {
  const ours = summarize(pair.ours);
  const base = summarize(pair.baseline);
  return row([
    figure,
    ours.n,
    `${ms(ours.p50)} / ${ms(ours.p95)} / ${ms(ours.p99)}`,
    `${ms(base.p50)} / ${ms(base.p95)} / ${ms(base.p99)}`,
    ratio(ours.p50, base.p50),
    ratio(ours.p99, base.p99),
  ]);
}

/**
 * The election's floor on this machine (issue 16): the in-tree controller's p50, plus the two
 * conditional writes ours makes before its Lease write (the candidate's, the decision's) and the
 * Lease create the in-tree controller does not wait on a table for, each timed alone in the same
 * run. Runs saved before the creates were timed show the writes alone, as they did. The goal is
 * ours within 10 ms of the in-tree p50.
 */
export function electionFloor(
  election: PairedSamples,
  writes: readonly number[],
  creates?: readonly number[],
): string[] {
  const ours = summarize(election.ours).p50;
  const inTree = summarize(election.baseline).p50;
  const write = summarize(writes);
  const create = creates === undefined || creates.length === 0 ? undefined : summarize(creates);
  const floor = inTree + 2 * write.p50 + (create?.p50 ?? 0);
  const writeTerm = `2 conditional writes to DynamoDB Local timed alone in this run (p50 / p99 ${ms(write.p50)} / ${ms(write.p99)}, ${write.n} writes)`;
  const createTerm =
    create === undefined
      ? ''
      : ` + 1 Lease create against one of our apiservers timed alone in this run (p50 / p99 ${ms(create.p50)} / ${ms(create.p99)}, ${create.n} creates)`;
  const sum = create === undefined ? '' : ` (${ms(inTree)} + 2 × ${ms(write.p50)} + ${ms(create.p50)})`;
  return [
    `Floor of election: in-tree p50 ${ms(inTree)} + ${writeTerm}${createTerm} = ${ms(floor)}${sum}; ours p50 ${ms(ours)} is ${ms(ours - floor)} above it (${ratio(ours, floor)} of it), ${ms(ours - inTree)} above the in-tree p50 (goal: within 10 ms).`,
    '',
  ];
}
