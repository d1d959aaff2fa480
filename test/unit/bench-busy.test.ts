import { describe, expect, it, vi } from 'vitest';
import type { BenchResults } from '../../bench/bench-results.js';
import {
  type BusyReading,
  type BusySeries,
  busyLine,
  sampleBusy,
  summarizeBusy,
} from '../../bench/busy-sampler.js';
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

  it('prints failover’s line under its parts, and the preemption control’s under the figure’s', () => {
    const busy = series([
      [0.4, 0.5],
      [0.4, 0.5],
      [0.4, 0.5],
      [0.4, 0.5],
    ]);
    const parts = { untilExpiry: [], coordinator: [], poll: [] };
    const split = { decide: [], yield: [], takeover: [], poll: [] };
    const text = renderReport(
      {
        date: '2026-12-08',
        trials: 1,
        leaseDurationMs: 5_000,
        failover: { ours: [5_500], baseline: [14_000], parts: { ours: parts, baseline: parts }, busy },
        preemption: { ours: [4_000], baseline: [3_900], parts: { ours: split, baseline: split } },
        preemptionOneAtATime: {
          ours: [4_000],
          baseline: [3_900],
          parts: { ours: split, baseline: split },
          busy,
        },
      } as BenchResults,
      [],
    );
    const starts = (prefix: string) => text.split('\n').filter((l) => l.startsWith(prefix));
    expect(starts('Failover, busy while its trials ran')[0]).toContain(
      '40% of the time, and the machine’s 2 cores 50%',
    );
    expect(starts('Preemption, busy while')).toEqual([]);
    const [control] = starts('Preemption one lease per system at a time, busy while its trials ran');
    // Not full: the line says no more than the shares.
    expect(control).toMatch(/ 40% and 50%\.$/);
  });

  it('reads the loop and the machine each interval, a late window keeping its real length', () => {
    vi.useFakeTimers();
    try {
      const elu = (idle: number, active: number) => ({ idle, active, utilization: 0 });
      const readings: (BusyReading | Error)[] = [
        { at: 1_000, elu: elu(500, 0), ticks: { busy: 0, total: 0 } },
        // Loop full, the machine 40 of 50 ticks.
        { at: 1_250, elu: elu(500, 250), ticks: { busy: 40, total: 50 } },
        // Closed 350 ms late, the loop half busy; the machine's counter stepped back.
        { at: 1_850, elu: elu(800, 550), ticks: { busy: 30, total: 100 } },
        // No tick in between: no share, no window.
        { at: 2_100, elu: elu(1_050, 550), ticks: { busy: 30, total: 100 } },
        new Error('no /proc'),
        { at: 2_600, elu: elu(1_050, 1_050), ticks: { busy: 80, total: 150 } },
      ];
      const sampler = sampleBusy(250, () => {
        const next = readings.shift();
        if (next === undefined || next instanceof Error) throw next ?? new Error('no reading left');
        return next;
      });
      vi.advanceTimersByTime(250 * 5);
      expect(sampler.stop()).toEqual({
        everyMs: 250,
        cores: expect.any(Number),
        windows: [
          { atMs: 250, loop: 1, machine: 0.8 },
          { atMs: 850, loop: 0.5, machine: 0 },
        ],
      });
      expect(readings).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts each window for its length, in the whole figure and in its busiest second', () => {
    const summary = summarizeBusy({
      everyMs: 250,
      cores: 2,
      windows: [
        { atMs: 250, loop: 0, machine: 0 },
        // 750 ms late: three times a window's weight.
        { atMs: 1_250, loop: 1, machine: 1 },
        { atMs: 1_500, loop: 0, machine: 0 },
      ],
    });
    expect(summary?.loop).toBeCloseTo(1_000 / 1_500);
    expect(summary?.busiest).toEqual({ loop: 1, machine: 1, atMs: 250 });
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
