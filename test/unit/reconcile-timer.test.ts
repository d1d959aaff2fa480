import { describe, expect, it } from 'vitest';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { ConditionFailedError } from '../../lib/errors.js';
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

  it('a send that fails takes its record back, so the retried step sends the deadline again', async () => {
    const { deps, key, heartbeat, store } = singleCluster();
    const sent: number[] = [];
    let failures = 1;
    const flaky = {
      ...deps,
      timers: {
        deliverAt: async (_key: unknown, dueAt: number) => {
          if (failures-- > 0) throw new Error('SendMessage failed');
          sent.push(dueAt);
        },
      },
    };
    await heartbeat('a', '1.30.0');
    await expect(reconcileLease(flaky, key)).rejects.toThrow('SendMessage failed');
    // Nothing was sent, so nothing may look pending.
    expect((await store.loadLease(key)).timerDueAt).toBeUndefined();

    // The step is retried (the stream or SQS delivers it again): it sends this time.
    await reconcileLease(flaky, key);
    expect(sent).toHaveLength(1);
    expect((await store.loadLease(key)).timerDueAt).toBe(sent[0]);
  });

  it('a send that fails puts back the later timer it replaced, which was sent and is still pending', async () => {
    const { key, store, clock } = singleCluster();
    const later = clock() + 60_000;
    expect(await store.armTimer(key, later, clock())).toEqual({});
    const sooner = clock() + 5_000;
    const armed = await store.armTimer(key, sooner, clock());
    expect(armed).toEqual({ replaced: later });
    await store.disarmTimer(key, sooner, armed?.replaced, clock());
    expect((await store.loadLease(key)).timerDueAt).toBe(later);
    // A record another step armed since is left alone.
    await expect(store.disarmTimer(key, sooner, undefined, clock())).rejects.toBeInstanceOf(
      ConditionFailedError,
    );
    expect((await store.loadLease(key)).timerDueAt).toBe(later);
  });
});
