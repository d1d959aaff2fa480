import { describe, expect, it } from 'vitest';
import type { BenchResults } from '../../bench/bench-results.js';
import type { PreemptionParts, PreemptionResult } from '../../bench/figures/preemption.js';
import { renderReport } from '../../bench/report.js';

function run(figures: Partial<BenchResults>): string {
  return renderReport({ date: '2026-12-08', trials: 4, leaseDurationMs: 5_000, ...figures }, []);
}

const lines = (text: string, start: string) => text.split('\n').filter((l) => l.startsWith(start));

/** Four trials a system, two at a time; each part's samples as given, in the order the trials ended. */
function preemption(
  ours: number[],
  baseline: number[],
  parts: { ours: PreemptionParts; baseline: PreemptionParts },
): PreemptionResult {
  return { ours, baseline, parts, concurrency: 2 };
}

const split = (register: number[], decide: number[], takeover: number[]): PreemptionParts => ({
  register,
  decide,
  takeover,
  yield: [3_000, 3_000, 3_000, 3_000],
  poll: [400, 400, 400, 400],
});

/**
 * Ours: the parts add up to 4260, 4100, 3660 and 3660 ms in the order the trials recorded them; the
 * totals come in another order, as pairedTrials records them after each trial's clean-up. In-tree:
 * 3618, 3614, 3622 and 3619 ms.
 */
const FOUR_TRIALS = preemption([3_660, 3_660, 4_100, 4_260], [3_618, 3_614, 3_622, 3_619], {
  ours: split([200, 200, 200, 200], [560, 500, 240, 230], [300, 200, 20, 30]),
  baseline: split([200, 200, 200, 200], [210, 205, 212, 208], [8, 9, 10, 11]),
});

describe('the bench report’s preemption floor', () => {
  it('adds the three table writes only ours makes, timed alone, to the in-tree p50', () => {
    const [floor] = lines(run({ preemption: FOUR_TRIALS, electionWrites: [3, 4, 5] }), 'Floor of preemption');
    expect(floor).toContain('in-tree p50 3618 ms + 3 conditional writes');
    expect(floor).toContain('(p50 4.0 ms each:');
    expect(floor).toContain('= 3630 ms, 1.003 of the in-tree p50; ours p50 3660 ms is 30 ms above it.');
  });

  it('says how far below the floor ours is, when a run’s draws put it there', () => {
    const faster = { ...FOUR_TRIALS, ours: [3_500, 3_600, 3_620, 3_700] };
    const [floor] = lines(run({ preemption: faster, electionWrites: [3, 4, 5] }), 'Floor of preemption');
    expect(floor).toContain('ours p50 3600 ms is 30 ms below it.');
  });

  it('is left out of a run whose writes were not timed alone', () => {
    expect(lines(run({ preemption: FOUR_TRIALS }), 'Floor of preemption')).toEqual([]);
  });
});

describe('the bench report’s preemption trials in the order they ended', () => {
  it('gives each run of trials its p50s, each trial’s total from its own parts, ours beside the in-tree controller’s', () => {
    const text = run({ preemption: FOUR_TRIALS });
    expect(lines(text, 'Preemption trials in the order they ended')[0]).toContain('in runs of 2');
    expect(lines(text, '| 1–2 |')).toEqual([
      '| 1–2 | 4100 ms | 3614 ms | 1.13 | 300 ms / 5 ms | 200 ms / 8 ms |',
    ]);
    expect(lines(text, '| 3–4 |')).toEqual([
      '| 3–4 | 3660 ms | 3619 ms | 1.01 | 30 ms / 8 ms | 20 ms / 10 ms |',
    ]);
  });

  it('says the first round started at once, or as far apart as --first-round-gap spaced it', () => {
    const heading = (preemption: PreemptionResult) =>
      lines(run({ preemption }), 'Preemption trials in the order they ended')[0];
    expect(heading(FOUR_TRIALS)).toContain('the first 2 of each system started at once');
    expect(lines(run({ preemption: FOUR_TRIALS }), 'Preemption: the first round')).toEqual([]);
    const spaced = { ...FOUR_TRIALS, firstRoundGapMs: 400 };
    expect(heading(spaced)).toContain('the first 2 of each system started 400 ms apart');
    expect(lines(run({ preemption: spaced }), 'Preemption: the first round')).toEqual([
      'Preemption: the first round of trials started 400 ms apart per system (`--first-round-gap`), not all at once.',
    ]);
  });

  it('is left out where a trial went unsplit, since the parts no longer line up with the trials', () => {
    const unsplit = { ...FOUR_TRIALS, ours: [...FOUR_TRIALS.ours, 5_000] };
    expect(lines(run({ preemption: unsplit }), 'Preemption trials in the order they ended')).toEqual([]);
  });

  it('is left out of runs saved before each trial’s LeaseCandidate was timed', () => {
    const { register: _, ...withoutRegister } = FOUR_TRIALS.parts.ours;
    const older = { ...FOUR_TRIALS, parts: { ...FOUR_TRIALS.parts, ours: withoutRegister } };
    expect(lines(run({ preemption: older }), 'Preemption trials in the order they ended')).toEqual([]);
  });
});

describe('the bench report’s control for preemption’s bunched rounds', () => {
  const ONE_AT_A_TIME = preemption([3_600, 3_650, 3_700, 3_640], [3_610, 3_620, 3_630, 3_640], {
    ours: split([200, 200, 200, 200], [215, 220, 230, 240], [12, 14, 16, 18]),
    baseline: split([200, 200, 200, 200], [205, 206, 207, 208], [6, 7, 8, 9]),
  });

  it('puts the same trials one lease per system at a time beside the figure, with their coordinator parts', () => {
    const text = run({ preemption: FOUR_TRIALS, preemptionOneAtATime: { ...ONE_AT_A_TIME, concurrency: 1 } });
    const [line] = lines(text, 'Preemption one lease per system at a time');
    expect(line).toContain(
      'ratio p50 / p99: 1.01 / 1.02 (3640 ms / 3700 ms against 3620 ms / 3640 ms); 2 at a time, as counted above: 1.01 / 1.18 (3660 ms / 4260 ms against 3618 ms / 3622 ms).',
    );
    expect(line).toContain('preferredHolder took ours 20 ms / 40 ms against 6 ms / 8 ms');
    expect(line).toContain('new leader named 14 ms / 18 ms against 7 ms / 9 ms');
  });

  it('is left out of runs without it', () => {
    expect(lines(run({ preemption: FOUR_TRIALS }), 'Preemption one lease per system at a time')).toEqual([]);
  });
});
