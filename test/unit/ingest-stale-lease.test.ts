import { describe, expect, it } from 'vitest';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { singleCluster } from '../helpers/single-cluster.js';

/**
 * A home-cluster Lease naming another holder is not always a legacy elector's: it may be the
 * mirror's own write of an earlier decision, and reading it as a takeover would replace a live
 * holder (docs/reliability.md, "Model-based concurrency test").
 */
describe('ingest of a Lease that still shows the previous holder (unit: in-memory fakes)', () => {
  it('does not overwrite the live holder the coordinator just elected', async () => {
    const { deps, key, cluster, store, heartbeat, advance } = singleCluster();

    await heartbeat('old', '1.30.0');
    await heartbeat('new', '1.31.0');
    await reconcileLease(deps, key);
    await mirrorLease(deps, key);
    expect(cluster.get('Lease', key)?.spec).toMatchObject({ holderIdentity: 'old' });

    // "old" stops renewing; past its lease "new" is elected, before the mirror has caught up.
    advance(6_000);
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

describe('ingest of a released Lease delivered after the next decision (unit: in-memory fakes)', () => {
  it('does not record the new holder as released', async () => {
    const { deps, key, cluster, store, heartbeat, advance } = singleCluster();
    await heartbeat('old', '1.30.0');
    await heartbeat('new', '1.31.0');
    await reconcileLease(deps, key);
    await mirrorLease(deps, key);

    // The holder lets go; ingest records it, and the next decision takes a new term.
    advance(1_000);
    cluster.releaseLease(key, 'old');
    const released = structuredClone(cluster.get('Lease', key) ?? {});
    expect(await ingestLease(deps, 'c', released)).toMatchObject({ outcome: 'release' });
    await reconcileLease(deps, key);
    const decided = (await store.loadLease(key)).lease;
    expect(decided?.record.term).toBe(2);
    expect(decided?.record.holderIdentity).not.toBe('');

    // The watch delivers the release once more (a second event of the same state, or a relist).
    const outcome = await ingestLease(deps, 'c', released);

    expect(outcome.outcome).toBe('drift');
    expect((await store.loadLease(key)).lease).toEqual(decided);
  });
});
