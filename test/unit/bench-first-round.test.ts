import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pairedTrials } from '../../bench/figures/processes.js';
import type { TrialBench } from '../../bench/kube-env.js';
import type { ControlPlane } from '../../lib/kube-local/control-plane.js';

const OURS = { name: 'ours' } as ControlPlane;
const IN_TREE = { name: 'in-tree' } as ControlPlane;
const BENCH = { ours: [OURS], inTree: IN_TREE } as unknown as TrialBench;

/**
 * Four trials a system, two at a time. Each trial waits until the test ends it with a value;
 * `started` lists the trials begun so far, as `<plane>:<lease>`.
 */
function fourTrials(firstRoundGapMs?: number, perSystem?: boolean, concurrency = 2) {
  const started: string[] = [];
  const running = new Map<string, (value: number) => void>();
  const done = pairedTrials(
    BENCH,
    4,
    concurrency,
    (plane, lease) =>
      new Promise<number>((resolve) => {
        started.push(`${plane.name}:${lease}`);
        running.set(`${plane.name}:${lease}`, resolve);
      }),
    'trial',
    {
      ...(firstRoundGapMs !== undefined && { firstRoundGapMs }),
      ...(perSystem !== undefined && { perSystem }),
    },
  );
  const end = async (trial: string, value: number) => {
    running.get(trial)?.(value);
    await vi.advanceTimersByTimeAsync(0);
  };
  return { started, end, done };
}

describe('the bench’s paired trials', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts the first round at once by default, and records each system’s totals as its trials end', async () => {
    const { started, end, done } = fourTrials();
    await vi.advanceTimersByTimeAsync(0);
    expect([...started].sort()).toEqual([
      'in-tree:trial-0',
      'in-tree:trial-1',
      'ours:trial-0',
      'ours:trial-1',
    ]);
    await end('ours:trial-1', 11);
    await end('in-tree:trial-0', 20);
    await end('ours:trial-0', 10);
    await end('in-tree:trial-1', 21);
    for (const trial of ['ours:trial-2', 'ours:trial-3', 'in-tree:trial-2', 'in-tree:trial-3'])
      expect(started).toContain(trial);
    await end('in-tree:trial-3', 23);
    await end('ours:trial-3', 13);
    await end('ours:trial-2', 12);
    await end('in-tree:trial-2', 22);
    const result = await done;
    const { ours, baseline } = result;
    // At once, as every saved run before the option: nothing recorded for the gap.
    expect(result).not.toHaveProperty('firstRoundGapMs');
    expect({ ours, baseline }).toEqual({ ours: [11, 10, 13, 12], baseline: [20, 21, 23, 22] });
  });

  it('spaces the first round by the gap, each system’s second trial one gap after its first', async () => {
    const { started } = fourTrials(400);
    await vi.advanceTimersByTimeAsync(0);
    expect([...started].sort()).toEqual(['in-tree:trial-0', 'ours:trial-0']);
    await vi.advanceTimersByTimeAsync(399);
    expect(started).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(started.slice(2).sort()).toEqual(['in-tree:trial-1', 'ours:trial-1']);
  });

  it('starts a later round’s trial as soon as one ends, with no gap of its own', async () => {
    const { started, end } = fourTrials(400);
    await vi.advanceTimersByTimeAsync(400);
    expect(started).toHaveLength(4);
    await end('ours:trial-0', 10);
    expect(started.slice(4)).toEqual(['ours:trial-2']);
  });

  it('with a pool per system, starts a system’s next trial only when its own ends, whatever the other’s do', async () => {
    const { started, end } = fourTrials(undefined, true, 1);
    await vi.advanceTimersByTimeAsync(0);
    expect([...started].sort()).toEqual(['in-tree:trial-0', 'ours:trial-0']);
    await end('ours:trial-0', 10);
    await end('ours:trial-1', 11);
    // The shared pool would have given the freed slot to in-tree's trial-1 here: two of in-tree's at once.
    expect(started.slice(2)).toEqual(['ours:trial-1', 'ours:trial-2']);
    await end('in-tree:trial-0', 20);
    expect(started.slice(4)).toEqual(['in-tree:trial-1']);
  });

  it('with the shared pool, gives a freed slot to the next trial in line, whichever system’s', async () => {
    const { started, end } = fourTrials(undefined, false, 1);
    await vi.advanceTimersByTimeAsync(0);
    await end('ours:trial-0', 10);
    await end('ours:trial-1', 11);
    expect(started.slice(2)).toEqual(['ours:trial-1', 'in-tree:trial-1']);
  });
});
