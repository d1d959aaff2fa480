import { describe, expect, it } from 'vitest';
import { formatMicroTime } from '../../lib/api/time.js';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { holderLeaseReader } from '../../lib/sync/holder-lease-reader.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { singleCluster } from '../helpers/single-cluster.js';

/**
 * Found by test/e2e/upstream-scenarios.e2e.test.ts (upstream's TestUpgradeSkew): ingest ignored a
 * Lease nobody competed for, so when the first candidate came for a Lease a legacy elector already
 * held, the election created the Lease over the live holder. The first decision of a lease with no
 * record now reads its Lease first (lib/coordinator/adopt-existing.ts).
 */
describe('the first candidate of a Lease a legacy elector holds (unit: in-memory fakes)', () => {
  it('records the legacy holder first, so the candidate is only preferred, not installed', async () => {
    const { deps, key, cluster, store, heartbeat, clock } = singleCluster('c', 'foobar', 'default');
    const spec = { holderIdentity: 'foo1-130', leaseDurationSeconds: 5, renewTime: formatMicroTime(clock()) };
    cluster.create(
      'Lease',
      { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: key, spec },
      'foo1-130',
    );
    // While nobody competes for it, its events are not ours.
    expect((await ingestLease(deps, 'c', cluster.get('Lease', key) ?? {})).outcome).toBe('ignored');

    expect((await heartbeat('foo1-131', '1.31.0')).outcome).toBe('stored');
    // The deployed coordinator reads its clusters' Leases; that is where it finds the legacy holder.
    await reconcileLease({ ...deps, readHolderLease: holderLeaseReader(deps.clusters) }, key);
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
