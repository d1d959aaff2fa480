import { describe, expect, it } from 'vitest';
import { renderReport } from '../../bench/report.js';

const floorLine = (text: string) => text.split('\n').find((l) => l.startsWith('Floor of election'));

/** The floor line of a run with three trials each (ours 40-60 ms, in-tree 10-30 ms) and `timed` alone. */
const floorOf = (timed: { electionWrites?: number[]; electionLeaseCreates?: number[] }) =>
  floorLine(
    renderReport(
      {
        date: '2026-12-03',
        trials: 3,
        leaseDurationMs: 15_000,
        election: { ours: [40, 50, 60], baseline: [10, 20, 30] },
        ...timed,
      },
      [],
    ),
  );

describe('the bench report’s election floor', () => {
  it('adds two conditional writes timed alone to the in-tree p50 in runs saved before the Lease creates were timed', () => {
    expect(floorOf({ electionWrites: [4, 5, 6] })).toBe(
      'Floor of election: in-tree p50 20 ms + 2 conditional writes to DynamoDB Local timed alone in this run (p50 / p99 5 ms / 6 ms, 3 writes) = 30 ms; ours p50 50 ms is 20 ms above it (1.67 of it), 30 ms above the in-tree p50 (goal: within 10 ms).',
    );
  });

  it('adds one Lease create timed alone as its third term, each term shown', () => {
    expect(floorOf({ electionWrites: [4, 5, 6], electionLeaseCreates: [7, 8, 9] })).toBe(
      'Floor of election: in-tree p50 20 ms + 2 conditional writes to DynamoDB Local timed alone in this run (p50 / p99 5 ms / 6 ms, 3 writes) + 1 Lease create against one of our apiservers timed alone in this run (p50 / p99 8 ms / 9 ms, 3 creates) = 38 ms (20 ms + 2 × 5 ms + 8 ms); ours p50 50 ms is 12 ms above it (1.32 of it), 30 ms above the in-tree p50 (goal: within 10 ms).',
    );
  });

  it('is left out of runs saved before the writes were timed', () => {
    expect(floorOf({})).toBeUndefined();
  });
});
