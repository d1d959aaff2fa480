import { describe, expect, it } from 'vitest';
import { UNREACHABLE_RETRY_MS } from '../../lib/coordinator/confirm-expiry.js';
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
      reconnect: () => {
        reachable = true;
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

  it('keeps the holder while its cluster cannot be read (Wait, the default), and looks again', async () => {
    const { deps, key, cluster, holder, advance, cutOff, renewB, store } = await setUp();
    const armed: number[] = [];
    const waiting: CoordinatorDeps = {
      ...deps,
      timers: { deliverAt: async (_k, dueAt) => void armed.push(dueAt) },
    };
    advance(6_000);
    cluster.renewLease(key, 'a', 5);
    await renewB();
    cutOff();
    const before = (await store.loadLease(key)).lease;
    const step = await reconcileLease(waiting, key);

    const after = (await store.loadLease(key)).lease;
    expect(step.action).toBe('none');
    expect(await holder()).toBe('a');
    expect(after?.record.term).toBe(before?.record.term);
    // Held off for a lease duration past the last failed read, and looked at again shortly.
    expect(after?.takeoverNotBefore).toBe(deps.clock() + 5_000 + UNREACHABLE_RETRY_MS);
    expect(armed).toEqual([deps.clock() + UNREACHABLE_RETRY_MS]);
  });

  it('takes over on its record when the holder’s cluster cannot be read, under TakeOver', async () => {
    const { deps, key, cluster, holder, advance, cutOff, renewB } = await setUp();
    advance(6_000);
    cluster.renewLease(key, 'a', 5);
    await renewB();
    cutOff();
    await reconcileLease({ ...deps, holderClusterUnreachable: () => 'TakeOver' }, key);
    expect(await holder()).toBe('b');
  });

  /** "a" goes silent, its cluster goes away when the takeover is due, and is back one retry later. */
  async function outage() {
    const fixture = await setUp();
    const { deps, key, advance, cutOff, reconnect, renewB } = fixture;
    advance(6_000);
    await renewB();
    cutOff();
    await reconcileLease(deps, key);
    advance(UNREACHABLE_RETRY_MS);
    reconnect();
    return fixture;
  }

  it('back from an outage: the holder that renews the Lease naming it keeps the lease', async () => {
    const { deps, key, cluster, holder, renewB } = await outage();
    // client-go finds the returning Lease naming it and renews it at its next retry.
    cluster.renewLease(key, 'a', 5);
    await renewB();
    await reconcileLease(deps, key);
    expect(await holder()).toBe('a');
  });

  it('back from an outage: a holder that stays silent for a lease duration is taken over', async () => {
    const { deps, key, holder, advance, renewB, store } = await outage();
    await renewB();
    // Readable again, but within the hold-off: not yet.
    expect((await reconcileLease(deps, key)).action).toBe('none');
    expect(await holder()).toBe('a');
    const notBefore = (await store.loadLease(key)).lease?.takeoverNotBefore as number;
    advance(notBefore - deps.clock());
    await renewB();
    await reconcileLease(deps, key);
    expect(await holder()).toBe('b');
  });
});
