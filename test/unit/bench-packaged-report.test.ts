import { describe, expect, it } from 'vitest';
import type { FailoverParts, FailoverResult } from '../../bench/figures/failover.js';
import type { PackagedResult } from '../../bench/figures/packaged.js';
import { renderReport } from '../../bench/report.js';

const LEASE_DURATION_MS = 5_000;
const noParts: FailoverParts = { untilExpiry: [], coordinator: [], poll: [] };

function failover(ours: number[], baseline: number[]): FailoverResult {
  return { ours, baseline, parts: { ours: noParts, baseline: noParts } };
}

function report(packaged?: PackagedResult): string {
  return renderReport(
    { date: '2026-12-03', trials: 3, leaseDurationMs: LEASE_DURATION_MS, ...(packaged && { packaged }) },
    [],
  );
}

const goalLine = (text: string) => text.split('\n').find((l) => l.startsWith('| Failover, packaged bundles'));

describe('the bench report of the packaged mode', () => {
  it('judges the packaged failover goal met when p99 is within leaseDuration + 2 s and ahead of in-tree', () => {
    const text = report({
      failover: failover([5_500, 6_000, 7_000], [14_000, 15_000, 15_500]),
      functions: [],
    });
    expect(goalLine(text)).toContain('p99 7000 ms (in-tree 15500 ms, same run)');
    expect(goalLine(text)).toMatch(/\| met \|$/);
  });

  it('judges it not met past leaseDuration + 2 s, or when the in-tree controller is faster', () => {
    const late = report({
      failover: failover([5_500, 6_000, 7_001], [14_000, 15_000, 15_500]),
      functions: [],
    });
    expect(goalLine(late)).toContain('**not met**');
    const behind = report({
      failover: failover([5_500, 6_000, 6_500], [5_000, 5_500, 6_000]),
      functions: [],
    });
    expect(goalLine(behind)).toContain('**not met**');
  });

  it('puts the packaged rows in the latency table and counts each function’s cold starts', () => {
    const text = report({
      election: { ours: [300, 400], baseline: [10, 20] },
      functions: [
        {
          fn: 'requeue',
          invocations: 12,
          coldStarts: 2,
          errors: 0,
          timeouts: 0,
          initMs: [120, 180],
          nodeVersion: 'v22.23.5',
        },
        { fn: 'sweep', invocations: 0, coldStarts: 0, errors: 0, timeouts: 0, initMs: [] },
      ],
    });
    expect(text).toContain('The containers ran on Node v22.23.5.');
    expect(text).toContain(
      '| Election latency (LeaseCandidate created → Lease shows it), packaged bundles | 2 |',
    );
    expect(text).toContain('| requeue | 12 | 2 | 0 | 0 | 120 ms / 180 ms |');
    expect(text).toContain('| sweep | 0 | 0 | 0 | 0 | — |');
    expect(goalLine(text)).toBeUndefined();
  });

  it('summarises how late each timer reached requeue after its deadline', () => {
    const text = report({ functions: [], timerLateness: [900, 100, 500, 1_200] });
    expect(text).toContain('| 4 | 500 ms | 1200 ms | 1200 ms | 1200 ms |');
  });

  it('renders a run saved before the packaged mode existed without a packaged section', () => {
    const text = report();
    expect(text).not.toContain('packaged');
  });
});
