import { describe, expect, it } from 'vitest';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { CANDIDATE_REFRESH_MS } from '../../lib/election/timing.js';
import type { CoordinatorDeps } from '../../lib/ports/coordinator.js';
import { holderLeaseReader } from '../../lib/sync/holder-lease-reader.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { singleCluster } from '../helpers/single-cluster.js';

/** A 20-minute Lease: the takeover's hold-off is as long, past the candidates' 15-minute refresh. */
const LONG_LEASE_SECONDS = 1_200;

describe('a deferred takeover keeps the lease’s other deadlines (unit: in-memory fakes)', () => {
  it('arms the candidates’ 15-minute refresh when it comes before the hold-off ends, not the hold-off’s end', async () => {
    const { deps: base, key, cluster, heartbeat, store, advance, clock } = singleCluster();
    let reachable = true;
    const deps: CoordinatorDeps = {
      ...base,
      readHolderLease: async (name, leaseKey) => {
        if (!reachable) throw new Error('connect ECONNREFUSED');
        return holderLeaseReader(base.clusters)(name, leaseKey);
      },
    };
    await heartbeat('a', '1.30.0');
    await reconcileLease(deps, key);
    await mirrorLease(base, key);
    // "a" holds a 20-minute Lease, renews its LeaseCandidate once more near the end, then stops.
    advance(1_000);
    cluster.renewLease(key, 'a', LONG_LEASE_SECONDS);
    await ingestLease(base, 'c', cluster.get('Lease', key) ?? {});
    advance(LONG_LEASE_SECONDS * 1000 - 6_000);
    await heartbeat('a', '1.30.0');
    const aRefreshDue = clock() + CANDIDATE_REFRESH_MS + 1;
    advance(12_000);
    // "b" is alive to take over, but the holder's cluster is out; when it answers again, "a" has
    // one more lease duration, 20 minutes, to renew there.
    await heartbeat('b', '1.31.0');
    reachable = false;
    await reconcileLease(deps, key);
    advance(2_000);
    reachable = true;
    await heartbeat('b', '1.31.0');
    const step = await reconcileLease(deps, key);

    const after = await store.loadLease(key);
    expect(step.action).toBe('none');
    expect(after.lease?.record.holderIdentity).toBe('a');
    const holdOffEnds = clock() + LONG_LEASE_SECONDS * 1000;
    expect(after.lease?.takeoverNotBefore).toBe(holdOffEnds);
    // "a"'s refresh (its LeaseCandidate pinged so it renews before it expires) comes first.
    expect(aRefreshDue).toBeLessThan(holdOffEnds);
    expect(after.timerDueAt).toBe(aRefreshDue);
  });
});
