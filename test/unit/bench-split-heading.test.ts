import { describe, expect, it } from 'vitest';
import type { PreemptionParts, PreemptionResult } from '../../bench/figures/preemption.js';
import { renderReport } from '../../bench/report.js';

const parts: PreemptionParts = {
  decide: [300, 400],
  register: [100, 150],
  yield: [3_000, 3_100],
  takeover: [50, 60],
  poll: [200, 300],
};

function preemption(concurrency?: number): PreemptionResult {
  return {
    ours: [3_800, 4_000],
    baseline: [3_700, 3_900],
    parts: { ours: parts, baseline: parts },
    ...(concurrency !== undefined && { concurrency }),
  };
}

function heading(result: PreemptionResult): string | undefined {
  const text = renderReport(
    { date: '2026-12-04', trials: 2, leaseDurationMs: 5_000, preemption: result },
    [],
  );
  return text.split('\n').find((line) => line.startsWith('Where preemption time goes'));
}

describe('the bench report’s split of trials run at once', () => {
  it('says how many leases per system were in flight, since that sets the coordinator’s part', () => {
    expect(heading(preemption(10))).toBe(
      'Where preemption time goes (p50 / p99 of each part; 2 and 2 trials split, 10 leases per system at a time):',
    );
    expect(heading(preemption(1))).toContain('2 and 2 trials split, one lease per system at a time):');
  });

  it('says nothing of it for a run saved before it was recorded', () => {
    expect(heading(preemption())).toBe(
      'Where preemption time goes (p50 / p99 of each part; 2 and 2 trials split):',
    );
  });
});
