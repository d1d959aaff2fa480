import { describe, expect, it } from 'vitest';
import type { BenchResults } from '../../bench/bench-results.js';
import type { GateOffResult } from '../../bench/figures/gate-off.js';
import { failoverSplit, pushSplit, revokeSplit } from '../../bench/figures/splits.js';
import { renderReport } from '../../bench/report.js';
import { SAVED_RUN } from '../../bench/saved-run.js';

/** The bench's gate-off figure: how its trials are split, judged and read back (unit: pure code). */
describe('bench gate-off figure (unit)', () => {
  describe('failoverSplit', () => {
    it('splits at the dead leader’s expiry and at the Lease naming the next; the parts add up to the total', () => {
      const split = failoverSplit({ killedAt: 1_000, lastRenewal: 800, shownAt: 6_500, ledAt: 7_100 }, 5_000);
      expect(split).toEqual({ untilExpiry: 4_800, coordinator: 700, poll: 600 });
      expect((split?.untilExpiry ?? 0) + (split?.coordinator ?? 0) + (split?.poll ?? 0)).toBe(7_100 - 1_000);
    });

    it('does not split a trial whose renewal or successor the watch missed', () => {
      expect(
        failoverSplit({ killedAt: 0, lastRenewal: undefined, shownAt: 10, ledAt: 20 }, 5_000),
      ).toBeUndefined();
      expect(
        failoverSplit({ killedAt: 0, lastRenewal: 0, shownAt: undefined, ledAt: 20 }, 5_000),
      ).toBeUndefined();
    });
  });

  describe('revokeSplit', () => {
    const marks = { startedAt: 0, preferredAt: 1_500, revokedAt: 1_600, namedAt: 6_700, ledAt: 7_200 };

    it('ends yield at the revoked holder and takeover at the successor; the parts add up to the total', () => {
      const split = revokeSplit(marks);
      expect(split).toEqual({ decide: 1_500, yield: 100, takeover: 5_100, poll: 500 });
      const sum = Object.values(split ?? {}).reduce((a, b) => a + b, 0);
      expect(sum).toBe(marks.ledAt - marks.startedAt);
    });

    it('does not split a trial in which the Lease never showed the preference or the revoke', () => {
      expect(revokeSplit({ ...marks, preferredAt: undefined })).toBeUndefined();
      expect(revokeSplit({ ...marks, revokedAt: undefined })).toBeUndefined();
      expect(revokeSplit({ ...marks, namedAt: undefined })).toBeUndefined();
    });
  });

  it('pushSplit appends each part, and nothing for an unsplit trial', () => {
    const parts = { decide: [1], yield: [2], takeover: [3], poll: [4] };
    pushSplit(parts, { decide: 10, yield: 20, takeover: 30, poll: 40 });
    pushSplit(parts, undefined);
    expect(parts).toEqual({ decide: [1, 10], yield: [2, 20], takeover: [3, 30], poll: [4, 40] });
  });

  function gateOff(preemption: number[]): GateOffResult {
    return {
      failover: { samples: [6_000, 6_200], parts: { untilExpiry: [4_900], coordinator: [600], poll: [500] } },
      preemption: {
        samples: preemption,
        parts: { decide: [1_000], yield: [0], takeover: [5_000], poll: [500] },
      },
    };
  }
  const run: BenchResults = { date: '2026-12-03', trials: 2, leaseDurationMs: 5_000 };
  const goalRow = (report: string) =>
    report.split('\n').find((line) => line.startsWith('| Preemption, gate off'));

  describe('renderReport', () => {
    it('judges gate-off preemption against leaseDuration + 2 s', () => {
      expect(goalRow(renderReport({ ...run, gateOff: gateOff([6_500, 7_000]) }, []))).toMatch(/\| met \|$/);
      expect(goalRow(renderReport({ ...run, gateOff: gateOff([6_500, 7_001]) }, []))).toMatch(
        /\*\*not met\*\* \|$/,
      );
    });

    it('prints the gate-off rows beside the gate-on and in-tree figures of the same run', () => {
      const pair = { ours: [1_000], baseline: [2_000] };
      const report = renderReport(
        {
          ...run,
          failover: { ...pair, parts: { ours: emptyFailover(), baseline: emptyFailover() } },
          gateOff: gateOff([7_000]),
        },
        [],
      );
      const failoverRow = report.split('\n').find((l) => l.startsWith('| Failover (leader pod killed'));
      expect(failoverRow).toBe(
        '| Failover (leader pod killed → next best leads) | 2 | 6000 ms / 6200 ms | 1000 ms / 1000 ms | 2000 ms / 2000 ms |',
      );
      const preemptionRow = report.split('\n').find((l) => l.startsWith('| Preemption (older-version pod'));
      expect(preemptionRow).toContain('| not in this run | not in this run |');
    });

    it('shows how much of the decide part was the pod registering itself, when it was taken', () => {
      const line = 'Of the first part, pod start → the agent created its LeaseCandidate';
      const taken = gateOff([7_000]);
      expect(renderReport({ ...run, gateOff: taken }, [])).not.toContain(line);
      const registered = { ...taken, preemption: { ...taken.preemption, registered: [400, 900] } };
      expect(renderReport({ ...run, gateOff: registered }, [])).toContain(
        `${line} (its log's timestamp): 400 ms / 900 ms`,
      );
    });

    describe('with preemption also one pod at a time', () => {
      const both = (atOnce: number[], oneAtATime: number[]): GateOffResult => {
        const base = gateOff(atOnce);
        return {
          ...base,
          concurrency: 10,
          preemption: { ...base.preemption, registered: [1_400, 1_800] },
          preemptionOneAtATime: {
            samples: oneAtATime,
            parts: { decide: [400], yield: [0], takeover: [4_700], poll: [300] },
            registered: [300, 500],
          },
        };
      };
      const goalRows = (report: string) =>
        report.split('\n').filter((line) => line.startsWith('| Preemption, gate off'));

      it('judges the goal on both figures, each row naming how many pods started at once', () => {
        const rows = goalRows(renderReport({ ...run, gateOff: both([6_500, 7_500], [5_500, 6_400]) }, []));
        expect(rows).toHaveLength(2);
        expect(rows[0]).toMatch(
          /^\| Preemption, gate off \(by revoke\), 10 pods at once \|.*\*\*not met\*\* \|$/,
        );
        expect(rows[1]).toMatch(/^\| Preemption, gate off \(by revoke\), one pod at a time \|.*\| met \|$/);
        const swapped = goalRows(renderReport({ ...run, gateOff: both([6_500, 7_000], [5_500, 7_001]) }, []));
        expect(swapped[0]).toMatch(/\| met \|$/);
        expect(swapped[1]).toMatch(/\*\*not met\*\* \|$/);
      });

      it('says under the goals why both rows are judged', () => {
        expect(renderReport({ ...run, gateOff: both([7_000], [6_000]) }, [])).toContain(
          'Gate-off preemption is judged on both of its rows',
        );
        expect(renderReport({ ...run, gateOff: gateOff([7_000]) }, [])).not.toContain('judged on both');
      });

      it('prints both figures, both splits side by side, and both registration times', () => {
        const report = renderReport({ ...run, gateOff: both([7_000], [6_000]) }, []);
        const lines = report.split('\n');
        expect(lines).toContain(
          '| Preemption (older-version pod starts → it leads), one pod at a time | 1 | 6000 ms / 6000 ms | not measured one at a time | not measured one at a time |',
        );
        expect(lines).toContain('| part | gate off, 10 pods at once | gate off, one pod at a time |');
        expect(lines.find((l) => l.startsWith('| revoked → the Lease names'))).toMatch(
          /\| 5000 ms \/ 5000 ms \| 4700 ms \/ 4700 ms \|$/,
        );
        expect(report).toContain(
          "created its LeaseCandidate (its log's timestamp): 1400 ms / 1800 ms, 10 pods at once; 300 ms / 500 ms, one pod at a time;",
        );
      });
    });

    it('renders a run from before the gate-off figure without its section or goal', () => {
      const report = renderReport(run, []);
      expect(report).not.toContain('Gate-off clusters');
      expect(goalRow(report)).toBeUndefined();
    });
  });

  describe('SAVED_RUN (what --render accepts)', () => {
    it('accepts a results.json from before the gate-off figure', () => {
      expect(SAVED_RUN.safeParse({ ...run, failover: { ours: [1], baseline: [2] } }).success).toBe(true);
    });

    it('accepts a run with one-at-a-time preemption, and names the field of a malformed one', () => {
      const taken = { ...gateOff([1]), concurrency: 10, preemptionOneAtATime: gateOff([2]).preemption };
      expect(SAVED_RUN.safeParse({ ...run, gateOff: taken }).success).toBe(true);
      const broken = { ...taken, preemptionOneAtATime: { ...taken.preemptionOneAtATime, samples: 'many' } };
      const parsed = SAVED_RUN.safeParse({ ...run, gateOff: broken });
      expect(parsed.error?.issues[0]?.path).toEqual(['gateOff', 'preemptionOneAtATime', 'samples']);
    });

    it('accepts a run with the gate-off figure, and names the field of a malformed one', () => {
      expect(SAVED_RUN.safeParse({ ...run, gateOff: gateOff([1]) }).success).toBe(true);
      const broken = gateOff([1]) as unknown as { preemption: { parts: Record<string, unknown> } };
      broken.preemption.parts.takeover = 'soon';
      const parsed = SAVED_RUN.safeParse({ ...run, gateOff: broken });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual(['gateOff', 'preemption', 'parts', 'takeover']);
    });
  });
});

function emptyFailover() {
  return { untilExpiry: [], coordinator: [], poll: [] };
}
