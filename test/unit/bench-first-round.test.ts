import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pairedTrials } from '../../bench/figures/processes.js';
import type { TrialBench } from '../../bench/kube-env.js';
import type { ControlPlane } from '../../lib/kube-local/control-plane.js';

const OURS = { name: 'ours' } as ControlPlane;
const IN_TREE = { name: 'in-tree' } as ControlPlane;
const BENCH = { ours: [OURS], inTree: IN_TREE } as unknown as TrialBench;

/** Runs six trials, three at a time, each ending when the test ends it; returns which have started. */
function sixTrials(firstRoundGapMs?: number) {
  const started: string[] = [];
  const ends: (() => void)[] = [];
  const done = pairedTrials(
    BENCH,
    6,
    3,
    (plane, lease) =>
      new Promise<number>((resolve) => {
        started.push(`${plane.name}:${lease}`);
        ends.push(() => resolve(1));
      }),
    'trial',
    firstRoundGapMs,
  );
  const endAll = async () => {
    while (ends.length > 0) {
      for (const end of ends.splice(0)) end();
      await vi.advanceTimersByTimeAsync(0);
    }
    return done;
  };
  return { started, endAll };
}

describe('the bench’s first round of paired trials', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts every trial of the first round at once by default', async () => {
    const { started, endAll } = sixTrials();
    await vi.advanceTimersByTimeAsync(0);
    expect(started.sort()).toEqual(
      [
        'in-tree:trial-0',
        'in-tree:trial-1',
        'in-tree:trial-2',
        'ours:trial-0',
        'ours:trial-1',
        'ours:trial-2',
      ].sort(),
    );
    expect(await endAll()).toEqual({ ours: [1, 1, 1, 1, 1, 1], baseline: [1, 1, 1, 1, 1, 1] });
  });

  it('spaces the first round by the gap, each system’s i-th trial i gaps after its first', async () => {
    const { started, endAll } = sixTrials(400);
    await vi.advanceTimersByTimeAsync(0);
    expect(started.sort()).toEqual(['in-tree:trial-0', 'ours:trial-0']);
    await vi.advanceTimersByTimeAsync(399);
    expect(started).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(started.slice(2).sort()).toEqual(['in-tree:trial-1', 'ours:trial-1']);
    await vi.advanceTimersByTimeAsync(400);
    expect(started.slice(4).sort()).toEqual(['in-tree:trial-2', 'ours:trial-2']);
    const results = await endAll();
    // The later rounds start as earlier trials end, with no gap of their own.
    expect(started).toHaveLength(12);
    expect(results).toEqual({ ours: [1, 1, 1, 1, 1, 1], baseline: [1, 1, 1, 1, 1, 1] });
  });
});
