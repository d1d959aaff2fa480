import type { PreemptionParts, PreemptionResult } from './figures/preemption.js';
import { row } from './markdown.js';
import { ms, ratio, summarize } from './stats.js';

/**
 * The table writes ours waits on where the in-tree controller waits on none: before the Lease names
 * the preferred holder, the new candidate's write and the decision's; after the holder lets go, the
 * takeover's, written in the release's place (docs/design.md, the fast path). Both systems make the
 * Lease writes, so those are in the in-tree p50 already.
 */
const PREEMPTION_FLOOR_WRITES = 3;

/**
 * Preemption's floor on this machine, at p50 (issue 16, goal 1): the in-tree controller's p50 plus
 * the conditional writes only ours makes, each as timed alone in the same run (the election's
 * floor terms). The takeover's read of the lease before its write is not timed alone, so it is left
 * out and the floor is low by one read. The goal asks ours at or below the in-tree p50, under this
 * floor: a run meets it only where client-go's renew and poll draw shorter for our trials than for
 * the in-tree controller's.
 */
export function preemptionFloor(preemption: PreemptionResult, writes: readonly number[]): string[] {
  const ours = summarize(preemption.ours).p50;
  const inTree = summarize(preemption.baseline).p50;
  const write = summarize(writes);
  const floor = inTree + PREEMPTION_FLOOR_WRITES * write.p50;
  return [
    `Floor of preemption p50: in-tree p50 ${ms(inTree)} + ${PREEMPTION_FLOOR_WRITES} conditional writes to DynamoDB Local timed alone in this run (p50 ${ms(write.p50)} each: the new candidate’s and the decision’s before the Lease names it preferredHolder, the takeover’s after the holder lets go; the takeover’s read of the lease, not timed alone, is left out) = ${ms(floor)}, ${(floor / inTree).toFixed(3)} of the in-tree p50; ours p50 ${ms(ours)} is ${ours >= floor ? `${ms(ours - floor)} above` : `${ms(floor - ours)} below`} it. The goal, at or below the in-tree p50, lies under this floor: a run meets it only where client-go’s renew and poll draw shorter for our trials than for the in-tree controller’s.`,
    '',
  ];
}

function startedHow({ firstRoundGapMs: gap, concurrency }: PreemptionResult): string {
  return gap === undefined
    ? `the first ${concurrency ?? 10} of each system started at once`
    : `the first ${concurrency ?? 10} of each system started ${gap} ms apart`;
}

/**
 * Says which figures' first round of trials was spaced out (--first-round-gap), since their trials
 * then start as they would later in a run, not all in one moment (docs/benchmark.md, "The first round").
 */
export function firstRoundLine(
  figures: readonly (readonly [string, { readonly firstRoundGapMs?: number } | undefined])[],
): string[] {
  return figures
    .filter(([, f]) => f?.firstRoundGapMs !== undefined)
    .flatMap(([name, f]) => [
      `${name}: the first round of trials started ${f?.firstRoundGapMs} ms apart per system (\`--first-round-gap\`), not all at once.`,
      '',
    ]);
}

/** The part our coordinator takes before the preferred holder shows, where each trial saw its LeaseCandidate. */
function decisionPart(parts: PreemptionParts): readonly number[] | undefined {
  const { register, decide } = parts;
  if (register?.length !== decide.length) return undefined;
  return decide.map((d, i) => d - (register[i] as number));
}

/** `samples` cut into runs of `size` in the order they were taken; the last may be shorter. */
function inRuns(samples: readonly number[], size: number): (readonly number[])[] {
  const runs: (readonly number[])[] = [];
  for (let start = 0; start < samples.length; start += size) runs.push(samples.slice(start, start + size));
  return runs;
}

const medianOf = (samples: readonly number[] | undefined) =>
  samples === undefined || samples.length === 0 ? Number.NaN : summarize(samples).p50;

/**
 * Preemption's trials in the order they ended, as many at a time as ran at once: the p50 of each
 * run of them, ours beside the in-tree controller's, with the coordinator's two parts. The first
 * round starts in one moment unless spaced (pairedTrials), so what a burst of new candidates costs
 * each system shows as the first run against the later ones. Left out where a trial went unsplit
 * (a watch mark missed) and in runs saved before each trial's LeaseCandidate was timed.
 */
export function preemptionInOrder(preemption: PreemptionResult): string[] {
  const size = preemption.concurrency ?? 10;
  const { ours, baseline } = preemption.parts;
  const oursDecision = decisionPart(ours);
  const inTreeDecision = decisionPart(baseline);
  const aligned =
    ours.takeover.length === preemption.ours.length &&
    baseline.takeover.length === preemption.baseline.length;
  if (oursDecision === undefined || inTreeDecision === undefined || !aligned || size <= 1) return [];
  const column = (samples: readonly number[]) => inRuns(samples, size);
  const [totals, inTreeTotals, decisions, inTreeDecisions, takeovers, inTreeTakeovers] = [
    column(preemption.ours),
    column(preemption.baseline),
    column(oursDecision),
    column(inTreeDecision),
    column(ours.takeover),
    column(baseline.takeover),
  ];
  const rows = totals.map((run, i) => {
    const [first, last] = [i * size + 1, i * size + run.length];
    const [mine, theirs] = [medianOf(run), medianOf(inTreeTotals[i])];
    return row([
      `${first}–${last}`,
      ms(mine),
      ms(theirs),
      ratio(mine, theirs),
      `${ms(medianOf(decisions[i]))} / ${ms(medianOf(inTreeDecisions[i]))}`,
      `${ms(medianOf(takeovers[i]))} / ${ms(medianOf(inTreeTakeovers[i]))}`,
    ]);
  });
  return [
    `Preemption trials in the order they ended, ${size} at a time (p50 of each ${size}; ${startedHow(preemption)}, the later ones as earlier ones ended):`,
    '',
    row([
      'trials',
      'ours',
      'in-tree',
      'ratio',
      'LeaseCandidate shown → preferredHolder, ours / in-tree',
      'holder let go → new leader named, ours / in-tree',
    ]),
    row(['---', '---', '---', '---', '---', '---']),
    ...rows,
    '',
  ];
}
