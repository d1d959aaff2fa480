import { describe, expect, it } from 'vitest';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { singleCluster } from '../helpers/single-cluster.js';

describe('the lease timer (unit: in-memory table)', () => {
  it('is not re-armed while one is pending at or before the next deadline, and is once it has come due', async () => {
    const { deps, key, heartbeat, requests, store, advance } = singleCluster();
    const armed: number[] = [];
    const counted = {
      ...deps,
      timers: { deliverAt: async (_key: unknown, dueAt: number) => void armed.push(dueAt) },
    };
    await heartbeat('a', '1.30.0');
    await reconcileLease(counted, key);
    expect(armed).toHaveLength(1);
    const due = (await store.loadLease(key)).timerDueAt as number;
    expect(due).toBe(armed[0]);

    // A sweep, say, looks again before the timer is due: nothing to write.
    requests.length = 0;
    advance(1_000);
    await reconcileLease(counted, key);
    expect(requests).not.toContain('armTimer');
    expect(armed).toHaveLength(1);

    // Once it has come due (its delivery is this look), the next deadline is armed.
    advance(due - deps.clock());
    await reconcileLease(counted, key);
    expect(requests).toContain('armTimer');
    expect(armed).toHaveLength(2);
    expect(armed[1]).toBeGreaterThan(due);
  });
});
