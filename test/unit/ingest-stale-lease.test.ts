import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import type { LeaseKey } from '../../lib/coordinator/ports.js';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { ingestCandidate, ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { InMemoryCluster } from '../helpers/in-memory-cluster.js';
import { InMemoryTable } from '../helpers/in-memory-store.js';

/**
 * Found by the concurrency model (test/property/concurrency.model.test.ts): ingest used to read
 * any home-cluster Lease naming another holder as "a legacy elector took it", even when that
 * Lease was only the mirror's own write of an earlier decision, and so replaced a live holder.
 */
describe('ingest of a Lease that still shows the previous holder (unit: in-memory fakes)', () => {
  it('does not overwrite the live holder the coordinator just elected', async () => {
    let now = Date.UTC(2026, 6, 1, 12, 0, 0);
    const clock = () => now;
    const table = new InMemoryTable(clock);
    const cluster = new InMemoryCluster('c', 0, clock);
    const key: LeaseKey = { scope: 'c', namespace: 'kube-system', name: 'solo' };
    const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
    const store = table.store();
    const deps = {
      store,
      clock,
      logger,
      leases: () => key,
      clusters: { get: async () => cluster.port() },
      timers: { deliverAt: async () => {} },
    };
    const heartbeat = async (name: string, emulationVersion: string) => {
      cluster.heartbeat({
        namespace: key.namespace,
        name,
        leaseName: key.name,
        binaryVersion: '1.31.0',
        emulationVersion,
        strategy: 'OldestEmulationVersion',
      });
      const raw = cluster.get('LeaseCandidate', { namespace: key.namespace, name });
      expect(raw).toBeDefined();
      await ingestCandidate(deps, 'c', 'MODIFIED', raw ?? {});
    };

    await heartbeat('old', '1.30.0');
    await heartbeat('new', '1.31.0');
    await reconcileLease(deps, key);
    await mirrorLease(deps, key);
    expect(cluster.get('Lease', key)?.spec).toMatchObject({ holderIdentity: 'old' });

    // "old" stops renewing; past its lease "new" is elected, before the mirror has caught up.
    now += 6_000;
    await heartbeat('new', '1.31.0');
    await reconcileLease(deps, key);
    const elected = (await store.loadLease(key)).lease;
    expect(elected?.record).toMatchObject({ holderIdentity: 'new', term: 2 });

    // The watch now delivers the mirror's earlier write, which still names "old".
    const outcome = await ingestLease(deps, 'c', cluster.get('Lease', key) ?? {});

    expect(outcome.outcome).toBe('drift');
    expect((await store.loadLease(key)).lease).toEqual(elected);
  });
});
