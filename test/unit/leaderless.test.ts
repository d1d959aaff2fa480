import { describe, expect, it } from 'vitest';
import { leaderlessSince } from '../../lib/coordinator/leaderless.js';
import type { LeaseRecord } from '../../lib/election/types.js';
import type { LeaseState, StoredCandidate } from '../../lib/ports/store.js';
import { schedulerCandidate } from '../helpers/scheduler-candidates.js';

const NOW = Date.UTC(2026, 11, 3, 12);

function candidate(name: string, renewTime: number): StoredCandidate {
  return schedulerCandidate(name, NOW, { renewTime, sentRenewTime: renewTime }, 3_600_000);
}

function state(record: LeaseRecord | undefined, candidates: StoredCandidate[]): LeaseState {
  return { lease: record === undefined ? undefined : { record, version: 1 }, candidates };
}

describe('leaderlessSince: since when a lease someone stands for has had no live holder (unit)', () => {
  const held: LeaseRecord = {
    holderIdentity: 'a',
    holderCluster: 'alpha',
    leaseDurationSeconds: 15,
    renewTime: NOW - 5_000,
    term: 3,
  };

  it('a holder whose lease runs: not leaderless', () => {
    expect(leaderlessSince(state(held, [candidate('b', NOW)]), NOW)).toBeUndefined();
  });

  it('a holder whose lease ran out: since its deadline', () => {
    const silent = { ...held, renewTime: NOW - 60_000 };
    expect(leaderlessSince(state(silent, [candidate('b', NOW)]), NOW)).toBe(NOW - 45_000);
  });

  it('a released lease: since the release', () => {
    const released = { ...held, holderIdentity: '', releasedHolder: 'a', releasedAt: NOW - 20_000 };
    expect(leaderlessSince(state(released, [candidate('b', NOW)]), NOW)).toBe(NOW - 20_000);
  });

  it('no decision yet: since the oldest standing candidate was created', () => {
    expect(leaderlessSince(state(undefined, [candidate('b', NOW)]), NOW)).toBe(NOW - 3_600_000);
  });

  it('nobody stands for it (every candidate expired): not a fault, not counted', () => {
    const silent = { ...held, renewTime: NOW - 60_000 };
    expect(leaderlessSince(state(silent, [candidate('b', NOW - 31 * 60_000)]), NOW)).toBeUndefined();
    expect(leaderlessSince(state(silent, []), NOW)).toBeUndefined();
  });
});
