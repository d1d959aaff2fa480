import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import type { LeaseKey } from '../../lib/coordinator/ports.js';
import { type CoordinatorDeps, reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { holderLeaseReader } from '../../lib/sync/holder-lease-reader.js';
import { ingestCandidate, ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { InMemoryCluster } from '../helpers/in-memory-cluster.js';
import { InMemoryTable } from '../helpers/in-memory-store.js';

/**
 * Found by the fault-injection e2e test (table writes throttled): ingest could not record the
 * holder's renewals, the holder looked expired, and the takeover gave the lease a second leader
 * until the first one's renew deadline ran out. A takeover from an expired holder now reads the
 * holder's own Lease first.
 */
describe('takeover from a holder that only looks expired (unit: in-memory fakes)', () => {
  async function setUp() {
    let now = Date.UTC(2026, 6, 1, 12, 0, 0);
    const clock = () => now;
    const table = new InMemoryTable(clock);
    const cluster = new InMemoryCluster('c', 0, clock);
    const key: LeaseKey = { scope: 'c', namespace: 'kube-system', name: 'solo' };
    let reachable = true;
    const clusters = {
      get: async () => {
        if (!reachable) throw new Error('connect ECONNREFUSED');
        return cluster.port();
      },
    };
    const base = {
      store: table.store(),
      clock,
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
      leases: () => key,
      timers: { deliverAt: async () => {} },
    };
    const deps: CoordinatorDeps = { ...base, readHolderLease: holderLeaseReader(clusters) };
    const heartbeat = async (name: string, emulationVersion: string) => {
      cluster.heartbeat({
        namespace: key.namespace,
        name,
        leaseName: key.name,
        binaryVersion: '1.31.0',
        emulationVersion,
        strategy: 'OldestEmulationVersion',
      });
      await ingestCandidate(
        { ...base, clusters },
        'c',
        'MODIFIED',
        cluster.get('LeaseCandidate', { ...key, name }) ?? {},
      );
    };
    await heartbeat('a', '1.30.0');
    await reconcileLease(deps, key);
    await mirrorLease({ ...base, clusters }, key);
    // "a" renews once through ingest, so the table knows what it last saw of it.
    cluster.renewLease(key, 'a', 5);
    await ingestLease({ ...base, clusters }, 'c', cluster.get('Lease', key) ?? {});
    await heartbeat('b', '1.31.0');
    return {
      deps,
      base,
      key,
      cluster,
      // "b" stays alive throughout, so the vote needs no ping.
      renewB: () => heartbeat('b', '1.31.0'),
      holder: async () => (await base.store.loadLease(key)).lease?.record.holderIdentity,
      advance: (ms: number) => {
        now += ms;
      },
      cutOff: () => {
        reachable = false;
      },
    };
  }

  it('records the renewal ingest missed and keeps the live holder', async () => {
    const { deps, base, key, cluster, holder, advance, renewB } = await setUp();
    // Ingest falls behind: "a" keeps renewing in its cluster, and none of it reaches the table.
    for (let i = 0; i < 6; i++) {
      advance(1_000);
      cluster.renewLease(key, 'a', 5);
    }
    await renewB();
    await reconcileLease(deps, key);
    expect(await holder()).toBe('a');
    expect((await base.store.loadLease(key)).lease?.record.renewTime).toBe(deps.clock());
  });

  it('without the check the same view takes over (the bug)', async () => {
    const { base, key, cluster, holder, advance, renewB } = await setUp();
    for (let i = 0; i < 6; i++) {
      advance(1_000);
      cluster.renewLease(key, 'a', 5);
    }
    await renewB();
    await reconcileLease(base, key);
    expect(await holder()).toBe('b');
  });

  it('takes over when the holder stopped renewing in its cluster too', async () => {
    const { deps, key, holder, advance, renewB } = await setUp();
    advance(6_000);
    await renewB();
    await reconcileLease(deps, key);
    expect(await holder()).toBe('b');
  });

  it('takes over on its record when the holder’s cluster cannot be reached', async () => {
    const { deps, key, cluster, holder, advance, cutOff, renewB } = await setUp();
    advance(6_000);
    cluster.renewLease(key, 'a', 5);
    await renewB();
    cutOff();
    await reconcileLease(deps, key);
    expect(await holder()).toBe('b');
  });
});
