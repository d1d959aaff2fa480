import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CandidateKeeper } from '../../bench/candidate-keeper.js';
import { CANDIDATE_REFRESH_MS } from '../../lib/election/timing.js';

const START = Date.UTC(2026, 11, 6, 3, 0, 0);
const MINUTE = 60_000;

describe("the bench's candidate keeper (unit)", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(START);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('renews a candidate before its 15-minute refresh comes due, and not one renewed lately', async () => {
    const renewedNames: string[] = [];
    const keeper = new CandidateKeeper(async (name) => {
      renewedNames.push(name);
    });
    keeper.renewed('old', START);
    keeper.renewed('new', START + 9 * MINUTE);
    keeper.start();
    await vi.advanceTimersByTimeAsync(11 * MINUTE);
    await keeper.stop();
    expect(renewedNames).toEqual(['old']);
    expect(keeper.renewals).toBe(1);
    // Renewed in time: its next refresh is further off than the one it had.
    expect(keeper.renewedBefore(['old'], START + CANDIDATE_REFRESH_MS - 5 * MINUTE)).toEqual([]);
  });

  it('renews nothing once stopped', async () => {
    const renew = vi.fn(async () => {});
    const keeper = new CandidateKeeper(renew);
    keeper.renewed('old', START);
    keeper.start();
    await keeper.stop();
    await vi.advanceTimersByTimeAsync(20 * MINUTE);
    expect(renew).not.toHaveBeenCalled();
  });

  it('reports a renewal that failed when stopped', async () => {
    const keeper = new CandidateKeeper(async () => {
      throw new Error('renewing LeaseCandidate old: 409');
    });
    keeper.renewed('old', START);
    keeper.start();
    await vi.advanceTimersByTimeAsync(11 * MINUTE);
    await expect(keeper.stop()).rejects.toThrow('renewing LeaseCandidate old: 409');
  });

  it('names the candidates last renewed before a time, those it never saw among them', () => {
    const keeper = new CandidateKeeper(async () => {});
    keeper.renewed('a', START);
    keeper.renewed('b', START + MINUTE);
    expect(keeper.renewedBefore(['a', 'b', 'unseen'], START + 1)).toEqual(['a', 'unseen']);
  });
});
