import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { formatMicroTime } from '../../lib/api/time.js';
import type { LeaseKey } from '../../lib/coordinator/ports.js';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { ingestCandidate, ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { InMemoryCluster } from '../helpers/in-memory-cluster.js';
import { InMemoryTable } from '../helpers/in-memory-store.js';

/**
 * Found by test/e2e/upstream-scenarios.e2e.test.ts (upstream's TestUpgradeSkew): ingest ignored a
 * Lease nobody competed for, so when the first candidate came for a Lease a legacy elector already
 * held, the election created the Lease over the live holder.
 */
describe('the first candidate of a Lease a legacy elector holds (unit: in-memory fakes)', () => {
  it('records the legacy holder first, so the candidate is only preferred, not installed', async () => {
    const now = Date.UTC(2026, 6, 1, 12, 0, 0);
    const clock = () => now;
    const cluster = new InMemoryCluster('c', 0, clock);
    const key: LeaseKey = { scope: 'c', namespace: 'default', name: 'foobar' };
    const store = new InMemoryTable(clock).store();
    const deps = {
      store,
      clock,
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
      leases: () => key,
      clusters: { get: async () => cluster.port() },
      timers: { deliverAt: async () => {} },
    };
    const spec = { holderIdentity: 'foo1-130', leaseDurationSeconds: 5, renewTime: formatMicroTime(now) };
    cluster.create(
      'Lease',
      { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: key, spec },
      'foo1-130',
    );
    // While nobody competes for it, its events are not ours.
    expect((await ingestLease(deps, 'c', cluster.get('Lease', key) ?? {})).outcome).toBe('ignored');

    cluster.heartbeat({
      namespace: key.namespace,
      name: 'foo1-131',
      leaseName: key.name,
      binaryVersion: '1.31.0',
      emulationVersion: '1.31.0',
      strategy: 'OldestEmulationVersion',
    });
    const raw = cluster.get('LeaseCandidate', { namespace: key.namespace, name: 'foo1-131' }) ?? {};
    expect((await ingestCandidate(deps, 'c', 'ADDED', raw)).outcome).toBe('stored');
    await reconcileLease(deps, key);
    await mirrorLease(deps, key);

    expect((await store.loadLease(key)).lease?.record).toMatchObject({
      holderIdentity: 'foo1-130',
      preferredHolder: 'foo1-131',
    });
    expect(cluster.get('Lease', key)?.spec).toMatchObject({
      holderIdentity: 'foo1-130',
      preferredHolder: 'foo1-131',
    });
  });
});
