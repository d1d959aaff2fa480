import type { PackagedResult } from './figures/packaged.js';
import { row, verdict } from './markdown.js';
import type { ColdStarts } from './packaged-env.js';
import { failoverParts, latencyRow, preemptionParts } from './report-rows.js';
import { ms, summarize } from './stats.js';

/**
 * The deployed shape's failover goal (issue "Deployed for real", item 6): whole-second SQS delays
 * and cold starts allow a second more than the in-process goal.
 */
export const PACKAGED_FAILOVER_MARGIN_MS = 2_000;

/** The goal row: failover p99 as deployed ≤ leaseDuration + 2 s, and ahead of the in-tree controller. */
export function packagedGoal(p: PackagedResult, leaseDurationMs: number): string | undefined {
  if (p.failover === undefined) return undefined;
  const ours = summarize(p.failover.ours);
  const base = summarize(p.failover.baseline);
  const bound = leaseDurationMs + PACKAGED_FAILOVER_MARGIN_MS;
  return row([
    'Failover, packaged bundles (as deployed)',
    `p99 ≤ leaseDuration + 2 s = ${ms(bound)}, and ahead of the in-tree controller`,
    `p99 ${ms(ours.p99)} (in-tree ${ms(base.p99)}, same run)`,
    verdict(ours.p99 <= bound && ours.p99 < base.p99),
  ]);
}

/** Rows for the latency table, beside the in-process ones: each paired with the in-tree controller in its own run. */
export function packagedLatencyRows(p: PackagedResult): string[] {
  const label = (figure: string) => `${figure}, packaged bundles`;
  return [
    p.election && latencyRow(label('Election latency (LeaseCandidate created → Lease shows it)'), p.election),
    p.failover && latencyRow(label('Failover (leader SIGKILLed → next best leads)'), p.failover),
    p.preemption && latencyRow(label('Preemption (older-version candidate starts → it leads)'), p.preemption),
  ].filter((x): x is string => x !== undefined);
}

/** How the packaged mode was run, where its failover and preemption time went, and its cold starts. */
export function packagedSection(p: PackagedResult): string[] {
  const out = [
    '## As deployed: the packaged bundles',
    '',
    'The rows marked "packaged bundles" above ran on their own two apiservers (one baseline, one ours), with the',
    'coordinator as `serverless deploy` ships it: the zips `serverless package` writes, each function in',
    'Lambda-like containers (one invocation per container at a time; a new container imports its bundle, a cold',
    'start), the table stream after the filter criteria, the SQS timer queue with whole-second `DelaySeconds`, and',
    'the minute schedules (`npm start -- --packaged`). Their in-tree column is the in-tree controller in that same',
    'run. Election trials follow one uncounted warm-up each, which meets the first cold starts of the functions on',
    'its path.',
    '',
  ];
  if (p.failover) out.push(...failoverParts(p.failover).map(packagedTitle));
  if (p.preemption) out.push(...preemptionParts(p.preemption).map(packagedTitle));
  if (p.timerLateness !== undefined && p.timerLateness.length > 0) out.push(...timerTable(p.timerLateness));
  if (p.functions.length > 0) out.push(...coldStartTable(p));
  if (p.requeueColdStartsMs !== undefined && p.requeueColdStartsMs.length > 0)
    out.push(
      ...requeueColdStartLine(
        p.requeueColdStartsMs,
        p.functions.find((f) => f.fn === 'requeue'),
      ),
    );
  return out;
}

/**
 * When each `requeue` container started, against the failover trials: with the timer queue capped
 * at two batches, one still in its init when the failovers' deadlines come due halves what takes
 * them (docs/benchmark.md, "As deployed").
 */
function requeueColdStartLine(startsMs: readonly number[], requeue: ColdStarts | undefined): string[] {
  const seconds = (value: number) => `${value >= 0 ? '+' : '−'}${(Math.abs(value) / 1000).toFixed(1)} s`;
  const inits = requeue?.initMs ?? [];
  return [
    `\`requeue\` cold starts against the start of the failover trials (kills come once the leaders lead): ${startsMs.map(seconds).join(', ')}` +
      (inits.length === 0 ? '.' : `; their inits, in the order they finished: ${inits.map(ms).join(', ')}.`),
    '',
  ];
}

function packagedTitle(line: string): string {
  return line.startsWith('Where ') ? `Packaged bundles: ${line}` : line;
}

function timerTable(lateness: readonly number[]): string[] {
  const s = summarize(lateness);
  return [
    'Timers: a deadline → its SQS message handed to `requeue` (whole-second `DelaySeconds`; negative: handed over',
    'early, with `DelaySeconds` rounded down, and `requeue` waits out the rest before it takes the step):',
    '',
    row(['timers', 'p50', 'p95', 'p99', 'max']),
    row(['---', '---', '---', '---', '---']),
    row([s.n, ms(s.p50), ms(s.p95), ms(s.p99), ms(s.max)]),
    '',
    'This is before `requeue` runs: a cold container, the decision and the mirror write come after it.',
    '',
  ];
}

function coldStartTable(p: PackagedResult): string[] {
  const init = (samples: readonly number[]) => {
    if (samples.length === 0) return '—';
    const s = summarize(samples);
    return `${ms(s.p50)} / ${ms(s.max)}`;
  };
  return [
    'Invocations and cold starts of each packaged function over the whole packaged run (its start included):',
    '',
    row(['function', 'invocations', 'cold starts', 'errors', 'timeouts', 'init p50 / max']),
    row(['---', '---', '---', '---', '---', '---']),
    ...p.functions.map((f) => row([f.fn, f.invocations, f.coldStarts, f.errors, f.timeouts, init(f.initMs)])),
    '',
    'Init is the module init the runtime times in each new container (import to handler ready). A container',
    'stays warm for the whole run: the runtime does not reclaim idle containers as Lambda does after minutes',
    'without traffic, so a cold start after a quiet spell is not in these figures.',
    ...nodeLine(p),
    '',
  ];
}

/** The Node the containers ran on (the runtime's, from npm, unless LEASE_COORDINATOR_PACKAGED_NODE=host). */
function nodeLine(p: PackagedResult): string[] {
  const versions = [
    ...new Set(p.functions.flatMap((f) => (f.nodeVersion === undefined ? [] : [f.nodeVersion]))),
  ];
  return versions.length === 0 ? [] : [`The containers ran on Node ${versions.join(', ')}.`];
}
