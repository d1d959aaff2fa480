import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import type { CoordinatorDeps } from '../../lib/ports/coordinator.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import { candidateRenews } from '../helpers/candidate-renews.js';
import { InMemoryCluster } from '../helpers/in-memory-cluster.js';
import { InMemoryTable } from '../helpers/in-memory-store.js';

describe('a hop is sent on once (unit: in-memory table)', () => {
  it('a hop’s look that loses its compare-and-set and is taken again does not send the hop a second time', async () => {
    let now = Date.UTC(2026, 11, 3, 12, 0, 0);
    const clock = () => now;
    const table = new InMemoryTable(clock);
    const cluster = new InMemoryCluster('c', 0, clock);
    const key: LeaseKey = { scope: 'c', namespace: 'kube-system', name: 'hop' };
    const sent: number[] = [];
    const base = {
      clock,
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
      leases: () => key,
      timers: { deliverAt: async (_key: LeaseKey, dueAt: number) => void sent.push(dueAt) },
    };
    // Another decider (elect, woken by the stream) on the same table, with no hop to send.
    const other: CoordinatorDeps = { ...base, store: table.store() };
    let raced = false;
    const store = table.store(async (request) => {
      // It decides the same takeover just before this look's write, which then loses.
      if (request !== 'writeLease' || raced) return;
      raced = true;
      await reconcileLease(other, key);
    });
    const deps: CoordinatorDeps = { ...base, store };
    const ingest = { ...deps, clusters: { get: async () => cluster.port() } };
    const heartbeat = (name: string, emulationVersion: string) =>
      candidateRenews(ingest, cluster, key, name, emulationVersion);
    await heartbeat('a', '1.31.0');
    // The gate runs the other decider only once this test arms it.
    raced = true;
    await reconcileLease(deps, key);
    // "a" stops; "b" is alive. A hop of a timer due in 2.5 s arrives now, and is the pending timer.
    now += 6_000;
    await heartbeat('b', '1.30.0');
    const hop = now + 2_500;
    await store.armTimer(key, hop, now);
    sent.length = 0;
    raced = false;

    const step = await reconcileLease(deps, key, { hop });

    expect(raced).toBe(true);
    expect(step.action).toBe('none');
    expect((await store.loadLease(key)).lease?.record.holderIdentity).toBe('b');
    // The takeover's next deadline (its pre-ping) comes after the hop: the hop goes on, once.
    expect(sent).toEqual([hop]);
  });
});
