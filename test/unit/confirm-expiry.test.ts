import { describe, expect, it } from 'vitest';
import { type CoordinatorDeps, reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { holderLeaseReader } from '../../lib/sync/holder-lease-reader.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { singleCluster } from '../helpers/single-cluster.js';

/**
 * Found by the fault-injection e2e test (table writes throttled): ingest could not record the
 * holder's renewals, the holder looked expired, and the takeover gave the lease a second leader
 * until the first one's renew deadline ran out. A takeover from an expired holder now reads the
 * holder's own Lease first.
 */
describe('takeover from a holder that only looks expired (unit: in-memory fakes)', () => {
  async function setUp() {
    const fixture = singleCluster();
    const { deps: base, key, cluster, heartbeat, store } = fixture;
    let reachable = true;
    const deps: CoordinatorDeps = {
      ...base,
      readHolderLease: holderLeaseReader({
        get: async (name) => {
          if (!reachable) throw new Error('connect ECONNREFUSED');
          return base.clusters.get(name);
        },
      }),
    };
    await heartbeat('a', '1.30.0');
    await reconcileLease(deps, key);
    await mirrorLease(base, key);
    // "a" renews once through ingest, so the table knows what it last saw of it.
    cluster.renewLease(key, 'a', 5);
    await ingestLease(base, 'c', cluster.get('Lease', key) ?? {});
    await heartbeat('b', '1.31.0');
    return {
      ...fixture,
      deps,
      base,
      // "b" stays alive throughout, so the vote needs no ping.
      renewB: () => heartbeat('b', '1.31.0'),
      holder: async () => (await store.loadLease(key)).lease?.record.holderIdentity,
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
