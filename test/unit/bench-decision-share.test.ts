import { describe, expect, it } from 'vitest';
import type { DecisionShare } from '../../bench/figures/decision-share.js';
import type { ThroughputRow } from '../../bench/figures/throughput.js';
import { renderReport } from '../../bench/report.js';

const share: DecisionShare = {
  numbers: 44,
  records: 40,
  history: { writeUnits: 84, readUnits: 0, writes: 84, reads: 0 },
  events: 20,
  clusters: 1,
};

function report(extra: Partial<Parameters<typeof renderReport>[0]>): string {
  return renderReport({ date: '2026-12-03', trials: 10, leaseDurationMs: 5_000, ...extra }, []);
}

const line = (text: string, start: string) => text.split('\n').find((l) => l.startsWith(start));

const electionCost = { events: 10, writeUnits: 20, readUnits: 6, invocations: 4 };

describe('the bench cost section, per decision', () => {
  it('prices the decision history per decision from its units and counts the Events per cluster', () => {
    const text = report({ electionCost, decisionShare: share });
    // 84 WCU over 40 records (4 numbers unused): 2.1 WCU at $0.625 per million units.
    expect(line(text, '| decision history, per decision')).toBe(
      '| decision history, per decision | 2.10 | 0.00 | 2.10 | 0 | $1.31 |',
    );
    expect(line(text, '| Kubernetes Events, per decision')).toBe(
      '| Kubernetes Events, per decision | 0.00 | 0.00 | 0.00 | 0.50 | $0.00 |',
    );
    expect(text).toContain('40 decisions recorded in the election trials');
    expect(text).toContain('44 record numbers taken, 4 left unused');
  });

  it('leaves the rows out of a run without the share, or with no decision recorded', () => {
    expect(line(report({ electionCost }), '| decision history')).toBeUndefined();
    const none = report({ electionCost, decisionShare: { ...share, numbers: 0, records: 0, events: 0 } });
    expect(line(none, '| Kubernetes Events')).toBeUndefined();
  });

  it('keeps the no-op heartbeat count in the cost section', () => {
    const http: ThroughputRow = {
      path: 'http',
      leases: 100,
      heartbeats: 300,
      seconds: 0.6,
      perSecond: 500,
      writeUnits: 1,
      readUnits: 0,
      writeCalls: 1,
      readCalls: 0,
      electInvocations: 0,
      lambdaInvocations: 1,
      sweepCallsInRound: 0,
      timerCallsInRound: 0,
      callsByFunction: {},
    };
    const text = report({ throughput: [http], decisionShare: share, electionCost });
    expect(line(text, 'A no-op heartbeat (HTTP)')).toContain(
      '300 table writes and 0 elect invocations for 300 renewals (1.00 write per heartbeat)',
    );
  });
});
