import { describe, expect, it } from 'vitest';
import { renderReport } from '../../bench/report.js';
import { SAVED_RUN } from '../../bench/saved-run.js';
import { parseOrThrow } from '../../lib/api/issues.js';

const RUN = { date: '2026-12-04', trials: 10, leaseDurationMs: 5_000 };
const MACHINE = { cores: 2, loadAtStart: [1.62, 2.31, 2.52], loadAtEnd: [3.18, 2.41, 2.475] };

describe('the bench report says how busy the machine was', () => {
  it('gives the load averages at the start and the end of the run', () => {
    const lines = renderReport({ ...RUN, machine: MACHINE }, []).split('\n');
    expect(lines).toContain(
      'Machine: 2 cores; load average (1 / 5 / 15 min) 1.62 / 2.31 / 2.52 at the start, 3.18 / 2.41 / 2.48 at the end.',
    );
  });

  it('says nothing of it for a run saved before it was recorded', () => {
    expect(renderReport(RUN, [])).not.toContain('Machine:');
  });

  it('a saved run whose load is not three averages is refused, naming the field', () => {
    expect(parseOrThrow(SAVED_RUN, { ...RUN, machine: MACHINE })).toMatchObject({ machine: MACHINE });
    expect(() => parseOrThrow(SAVED_RUN, { ...RUN, machine: { ...MACHINE, loadAtEnd: [1, 2] } })).toThrow(
      'machine.loadAtEnd',
    );
  });
});
