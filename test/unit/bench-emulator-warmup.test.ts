import { describe, expect, it } from 'vitest';
import { renderReport } from '../../bench/report.js';
import { SAVED_RUN } from '../../bench/saved-run.js';
import { parseOrThrow } from '../../lib/api/issues.js';

const RUN = { date: '2026-12-07', trials: 10, leaseDurationMs: 5_000 };

describe('the bench report says whether DynamoDB Local was warmed before the trials', () => {
  it('gives the warm-up’s calls and time, the packaged stack’s beside the in-process one', () => {
    const report = renderReport(
      {
        ...RUN,
        emulatorWarmup: { calls: 3000, ms: 4824 },
        packaged: { functions: [], emulatorWarmup: { calls: 3000, ms: 6100 } },
      },
      [],
    );
    expect(report).toContain(
      'DynamoDB Local was warmed before the first trial (in-process: 3,000 calls in 4.8 s; packaged: 3,000 calls in 6.1 s)',
    );
  });

  it('names the stack of a run that warmed one only', () => {
    const packagedOnly = { ...RUN, packaged: { functions: [], emulatorWarmup: { calls: 3000, ms: 6100 } } };
    expect(renderReport(packagedOnly, [])).toContain('(packaged: 3,000 calls in 6.1 s)');
  });

  it('says a run saved before the warm-up timed the emulator’s cold JVM in its first trials', () => {
    const election = { ours: [20, 30], baseline: [6, 8] };
    expect(renderReport({ ...RUN, election }, [])).toContain(
      'DynamoDB Local was not warmed before the trials',
    );
  });

  it('says nothing of it for a run with no trials', () => {
    expect(renderReport(RUN, [])).not.toContain('DynamoDB Local was');
  });

  it('a saved run whose warm-up is not a count of calls is refused, naming the field', () => {
    expect(() => parseOrThrow(SAVED_RUN, { ...RUN, emulatorWarmup: { calls: 0, ms: 10 } })).toThrow(
      'emulatorWarmup.calls',
    );
    expect(() =>
      parseOrThrow(SAVED_RUN, { ...RUN, packaged: { functions: [], emulatorWarmup: { calls: 10, ms: -1 } } }),
    ).toThrow('packaged.emulatorWarmup.ms');
  });
});
