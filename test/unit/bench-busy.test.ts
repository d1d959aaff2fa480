import { describe, expect, it } from 'vitest';
import type { BenchResults } from '../../bench/bench-results.js';
import { type BusySeries, busyLine, sampleBusy, summarizeBusy } from '../../bench/busy-sampler.js';
import { renderReport } from '../../bench/report.js';
import { SAVED_RUN } from '../../bench/saved-run.js';

/** Windows of 250 ms, each with the loop's and the machine's share as given. */
function series(shares: readonly (readonly [number, number])[]): BusySeries {
  return {
    everyMs: 250,
    cores: 2,
    windows: shares.map(([loop, machine], i) => ({ atMs: (i + 1) * 250, loop, machine })),
  };
}

describe('the bench’s busy sampler', () => {
  it('finds the second in which the event loop was busiest, with the machine’s share in that second', () => {
    const quiet = [0.2, 0.5] as const;
    const burst = [1, 1] as const;
    const summary = summarizeBusy(series([quiet, quiet, burst, burst, burst, [0.6, 0.9], quiet, quiet]));
    expect(summary?.busiest).toEqual({ loop: 0.9, machine: 0.975, atMs: 500 });
    expect(summary?.loop).toBeCloseTo((0.2 * 4 + 3 + 0.6) / 8);
    expect(summary?.machine).toBeCloseTo((0.5 * 4 + 3 + 0.9) / 8);
  });

  it('says nothing of a figure shorter than a second, or of one saved before it was sampled', () => {
    expect(summarizeBusy(series([[1, 1]]))).toBeUndefined();
    expect(busyLine('Preemption', series([[1, 1]]))).toEqual([]);
    expect(busyLine('Preemption', undefined)).toEqual([]);
  });

  it('prints the figure’s line under its parts in the report', () => {
    const busy = series([
      [0.5, 0.5],
      [0.5, 0.5],
      [1, 1],
      [1, 1],
      [1, 1],
      [1, 1],
    ]);
    const preemption = {
      ours: [4_000],
      baseline: [3_900],
      parts: {
        ours: { decide: [], yield: [], takeover: [], poll: [] },
        baseline: { decide: [], yield: [], takeover: [], poll: [] },
      },
      busy,
    };
    const text = renderReport(
      { date: '2026-12-08', trials: 1, leaseDurationMs: 5_000, preemption } as BenchResults,
      [],
    );
    const line = text.split('\n').find((l) => l.startsWith('Preemption, busy while its trials ran'));
    expect(line).toContain('event loop, where ours runs in-process, 83% of the time');
    expect(line).toContain('in the second the loop was busiest (from 0.5 s), 100% and 100%');
  });

  it('samples this process’s event loop while it spins, and the machine beside it', async () => {
    const sampler = sampleBusy(50);
    const spinUntil = Date.now() + 400;
    // Each turn of the loop is kept busy; the interval still runs between turns.
    await new Promise<void>((resolve) => {
      const spin = () => {
        const turnEnds = Date.now() + 20;
        while (Date.now() < turnEnds) {}
        if (Date.now() < spinUntil) setImmediate(spin);
        else resolve();
      };
      spin();
    });
    const { windows, cores } = sampler.stop();
    expect(cores).toBeGreaterThan(0);
    expect(windows.length).toBeGreaterThanOrEqual(4);
    const loop = windows.reduce((s, w) => s + w.loop, 0) / windows.length;
    expect(loop).toBeGreaterThan(0.8);
    for (const w of windows) expect(w.machine).toBeGreaterThanOrEqual(0);
  });

  it('refuses a saved series with a share outside 0..1, naming the field', () => {
    const saved = {
      date: '2026-12-08',
      trials: 1,
      leaseDurationMs: 5_000,
      preemption: { busy: { everyMs: 250, cores: 2, windows: [{ atMs: 250, loop: 1.5, machine: 0.5 }] } },
    };
    const result = SAVED_RUN.safeParse(saved);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['preemption', 'busy', 'windows', 0, 'loop']);
  });
});
