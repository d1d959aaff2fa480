import { describe, expect, it } from 'vitest';
import { decideAfterReads } from '../../lib/coordinator/decide-after-reads.js';
import { reconcileStep } from '../../lib/election/reconcile.js';
import type { Candidate, LeaseRecord } from '../../lib/election/types.js';

const T0 = Date.UTC(2026, 11, 3, 12);

function candidate(name: string, renewTime: number, emulationVersion: string): Candidate {
  return {
    name,
    namespace: 'kube-system',
    cluster: name === 'old' ? 'a' : 'b',
    leaseName: 'kube-scheduler',
    binaryVersion: '1.31.0',
    emulationVersion,
    strategy: 'OldestEmulationVersion',
    apiVersion: 'v1beta1',
    renewTime,
    creationTimestamp: T0 - 60_000,
  };
}

/** "old" held the lease from cluster "a" and stopped renewing 6 s ago; "next" renewed 1 s ago. */
const lease: LeaseRecord = {
  holderIdentity: 'old',
  holderCluster: 'a',
  leaseDurationSeconds: 5,
  renewTime: T0 - 6_000,
  strategy: 'OldestEmulationVersion',
  term: 3,
};
const candidates = [candidate('old', T0 - 6_000, '1.30.0'), candidate('next', T0 - 1_000, '1.31.0')];

describe('a step decided after slow cluster reads (unit: pure)', () => {
  it('keeps a takeover judged before a 10 s read, dated after it', () => {
    const after = T0 + 10_000;
    // On the later clock alone, the successor's proof of life has lapsed: a ping, again (the bug).
    expect(reconcileStep({ lease, candidates, now: after }).action).toBe('ping');
    const step = decideAfterReads({ lease, candidates }, { judgedAt: T0, now: after });
    expect(step.action).toBe('takeover');
    expect(step.write?.holderIdentity).toBe('next');
    expect(step.write?.term).toBe(4);
    expect(step.write?.renewTime).toBe(after);
    // The next look comes before the new holder's term runs out, counted from `after`.
    expect(after + step.requeueAfterMs).toBeLessThanOrEqual(after + 5_000 + 1);
    expect(step.requeueAfterMs).toBeGreaterThan(0);
  });

  it('decides any other step on the later clock', () => {
    const live: LeaseRecord = { ...lease, renewTime: T0 - 1_000 };
    const after = T0 + 10_000;
    const step = decideAfterReads({ lease: live, candidates }, { judgedAt: T0, now: after });
    expect(step).toEqual(reconcileStep({ lease: live, candidates, now: after }));
  });
});
