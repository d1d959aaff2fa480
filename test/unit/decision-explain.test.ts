import { describe, expect, it } from 'vitest';
import { decisionRecord } from '../../lib/election/decision-record.js';
import { decisionMessage, formatAge, rankCandidates } from '../../lib/election/explain.js';
import { reconcileStep } from '../../lib/election/reconcile.js';
import type { Candidate, LeaseRecord } from '../../lib/election/types.js';
import { schedulerCandidate } from '../helpers/scheduler-candidates.js';

const NOW = Date.UTC(2026, 6, 1, 12, 0, 0);

function candidate(name: string, overrides: Partial<Candidate> = {}): Candidate {
  return schedulerCandidate(name, NOW, overrides);
}

describe('rankCandidates (unit: pure)', () => {
  it('ranks by emulation version, binary version, age, then name, saying which rule decided each place', () => {
    const ranking = rankCandidates(
      [
        candidate('d'),
        candidate('c', { creationTimestamp: NOW - 120_000 }),
        candidate('b', { binaryVersion: '1.33.0' }),
        candidate('a', { emulationVersion: '1.33.0' }),
        candidate('e'),
      ],
      undefined,
      NOW,
    );
    expect(ranking.ranked.map((c) => [c.rank, c.name, c.criterion, c.reason])).toEqual([
      [1, 'a', 'emulationVersion', 'best: lowest emulation version 1.33.0 (next 1.34.0)'],
      [2, 'b', 'emulationVersion', 'after a: emulation version 1.34.0 above 1.33.0'],
      [3, 'c', 'binaryVersion', 'after b: same emulation version, binary version 1.34.0 above 1.33.0'],
      [4, 'd', 'age', 'after c: same versions, created 60s later'],
      [5, 'e', 'name', 'after d: same versions and age, name after it (tie-break)'],
    ]);
    expect(ranking.ranked[0]?.ageMs).toBe(60_000);
  });

  it('keeps a holder the strategy ranks equal to the best first, as the election does', () => {
    const lease: LeaseRecord = { holderIdentity: 'b', term: 3, renewTime: NOW, leaseDurationSeconds: 15 };
    const ranked = rankCandidates([candidate('a'), candidate('b')], lease, NOW).ranked;
    expect(ranked.map((c) => [c.name, c.criterion])).toEqual([
      ['b', 'holder'],
      ['a', 'holder'],
    ]);
  });

  it('leaves out expired, departed and unorderable candidates with the reason, and tells live from pinged and stale', () => {
    const lease: LeaseRecord = { holderIdentity: '', releasedHolder: 'gone', releasedAt: NOW - 500, term: 2 };
    const ranking = rankCandidates(
      [
        candidate('old', { renewTime: NOW - 31 * 60_000 }),
        candidate('gone', { renewTime: NOW - 1_000 }),
        candidate('odd', { binaryVersion: 'v1' }),
        candidate('asked', { renewTime: NOW - 10_000, pingTime: NOW - 1_000 }),
        candidate('quiet', { renewTime: NOW - 10_000 }),
        candidate('fresh'),
      ],
      lease,
      NOW,
    );
    expect(ranking.leftOut).toEqual([
      { cluster: 'alpha', name: 'old', reason: 'expired: no renewal for 30m' },
      { cluster: 'alpha', name: 'gone', reason: 'released the lease and has not renewed since' },
      { cluster: 'alpha', name: 'odd', reason: 'versions not orderable: emulation "1.34.0", binary "v1"' },
    ]);
    expect(Object.fromEntries(ranking.ranked.map((c) => [c.name, c.standing]))).toEqual({
      asked: 'pinged',
      quiet: 'stale',
      fresh: 'live',
    });
  });
});

describe('a holder that left, asked because nobody else could lead (unit: pure)', () => {
  it('says it has not answered the ping sent since its release', () => {
    const lease: LeaseRecord = {
      holderIdentity: '',
      releasedHolder: 'gone',
      releasedAt: NOW - 6_000,
      term: 2,
    };
    const asked = candidate('gone', { renewTime: NOW - 7_000, pingTime: NOW - 1_000 });
    expect(rankCandidates([asked], lease, NOW).leftOut).toEqual([
      {
        cluster: 'alpha',
        name: 'gone',
        reason: 'released the lease, and has not answered the ping sent since (nobody else could lead)',
      },
    ]);
  });
});

describe('decision messages (unit: pure)', () => {
  it('says why the winner won, in one sentence', () => {
    const ranking = rankCandidates(
      [candidate('sched-a'), candidate('sched-b', { emulationVersion: '1.33.0' }), candidate('sched-c')],
      undefined,
      NOW,
    );
    expect(decisionMessage('Elected', 'sched-b', 4, ranking)).toBe(
      'Elected sched-b (term 4): lowest emulation version 1.33.0 of 3 candidates',
    );
    expect(decisionMessage('Elected', 'sched-a', 4, ranking)).toBe('Elected sched-a (term 4)');
    expect(decisionMessage('Elected', 'solo', 1, rankCandidates([candidate('solo')], undefined, NOW))).toBe(
      'Elected solo (term 1): the only live candidate',
    );
  });

  /** sched-a leads, renewed a second ago. */
  const held: LeaseRecord = {
    holderIdentity: 'sched-a',
    holderCluster: 'alpha',
    term: 4,
    renewTime: NOW - 1_000,
    leaseDurationSeconds: 15,
    strategy: 'OldestEmulationVersion',
  };

  it('records a preemption as the holder asked to yield, with the reason', () => {
    const lease = held;
    const candidates = [candidate('sched-a'), candidate('sched-b', { binaryVersion: '1.33.0' })];
    const step = reconcileStep({ lease, candidates, now: NOW });
    expect(step.action).toBe('preempt');
    expect(decisionRecord(step, lease, candidates, NOW)).toMatchObject({
      action: 'preempt',
      term: 4,
      holder: 'sched-a',
      preferredHolder: 'sched-b',
      message:
        'Asked sched-a to yield to sched-b (term 4): lowest binary version 1.33.0 at emulation version 1.34.0 of 2 candidates',
    });
  });

  it("tells a preemption's reason with the holder in, whose LeaseCandidate is minutes old (an agent's)", () => {
    const lease = held;
    const candidates = [
      candidate('sched-a', { renewTime: NOW - 120_000 }),
      candidate('sched-b', { binaryVersion: '1.33.0' }),
    ];
    const step = reconcileStep({ lease, candidates, now: NOW });
    expect(step.action).toBe('preempt');
    expect(decisionRecord(step, lease, candidates, NOW)?.message).toBe(
      'Asked sched-a to yield to sched-b (term 4): lowest binary version 1.33.0 at emulation version 1.34.0 of 2 candidates',
    );
  });

  it('records a preference taken back as the holder kept, naming the candidate gone', () => {
    const lease: LeaseRecord = { ...held, preferredHolder: 'sched-b' };
    // sched-b withdrew its LeaseCandidate before sched-a yielded.
    const candidates = [candidate('sched-a')];
    const step = reconcileStep({ lease, candidates, now: NOW });
    const record = decisionRecord(step, lease, candidates, NOW);
    expect(record).toMatchObject({
      action: 'preempt',
      term: 4,
      holder: 'sched-a',
      message: 'Kept sched-a (term 4): no longer asked to yield to sched-b',
    });
    expect(record?.preferredHolder).toBeUndefined();
  });

  it('records a takeover with the holder it replaces and why the lease was free', () => {
    const lease: LeaseRecord = {
      holderIdentity: 'sched-a',
      holderCluster: 'alpha',
      term: 4,
      renewTime: NOW - 20_000,
      leaseDurationSeconds: 15,
      strategy: 'OldestEmulationVersion',
    };
    const candidates = [candidate('sched-a', { renewTime: NOW - 20_000 }), candidate('sched-b')];
    const step = reconcileStep({ lease, candidates, now: NOW });
    expect(decisionRecord(step, lease, candidates, NOW)).toMatchObject({
      action: 'takeover',
      term: 5,
      holder: 'sched-b',
      previousHolder: 'sched-a',
      cause: 'expired',
      message: 'Elected sched-b (term 5): the only live candidate',
    });
  });
});

describe('formatAge (unit: kubectl ages)', () => {
  it.each([
    [-5, '0s'],
    [999, '0s'],
    [5_000, '5s'],
    [119_000, '119s'],
    [200_000, '3m20s'],
    [180_000, '3m'],
    [12 * 60_000, '12m'],
    [5.5 * 3600_000, '5h30m'],
    [30 * 3600_000, '30h'],
    [51 * 3600_000, '2d3h'],
    [120 * 86400_000, '120d'],
  ])('%d ms is %s', (ms, age) => {
    expect(formatAge(ms)).toBe(age);
  });
});
