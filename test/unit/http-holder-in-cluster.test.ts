import { describe, expect, it } from 'vitest';
import { FENCED_HOLDER, REVOKED_HOLDER } from '../../lib/api/lease.js';
import { formatMicroTime } from '../../lib/api/time.js';
import { holderHome } from '../../lib/coordinator/holder-home.js';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { holderLeaseReader } from '../../lib/sync/holder-lease-reader.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { httpHeartbeat } from '../helpers/http-heartbeat.js';
import { singleCluster } from '../helpers/single-cluster.js';

/**
 * A holder heard over HTTP in a cluster the coordinator also reads (kubeconfig and httpCallers): it
 * renews through our API, never in the cluster, so the Lease there is ours to keep live, and no
 * write of ours that names it is news of it (docs/clusters.md, HTTP callers).
 */
describe('an HTTP holder in a Kubernetes cluster (unit: in-memory fakes)', () => {
  const setup = async () => {
    const stack = singleCluster();
    const { deps, key, store, clock } = stack;
    await store.putHeartbeat(key, 'c', httpHeartbeat(key, 'over-http', '1.30.0', clock()), clock());
    await reconcileLease(deps, key);
    await mirrorLease(deps, key);
    return stack;
  };

  it('carries each renewal into the Lease there, so an elector of that cluster finds it live', async () => {
    const { deps, key, cluster, store, advance, clock } = await setup();
    const elected = cluster.get('Lease', key)?.spec as { holderIdentity?: string; renewTime?: string };
    expect(elected.holderIdentity).toBe('over-http');

    advance(3_000);
    await store.recordRenewal(
      key,
      { holderIdentity: 'over-http', expectedHolder: 'over-http', leaseDurationSeconds: 15 },
      clock(),
    );
    await mirrorLease(deps, key);

    const renewed = cluster.get('Lease', key)?.spec as { holderIdentity?: string; renewTime?: string };
    expect(renewed.holderIdentity).toBe('over-http');
    expect(Date.parse(renewed.renewTime ?? '')).toBe(clock());
  });

  it('takes a dead one over at its recorded deadline, though our copy in its cluster still shows an earlier renewal', async () => {
    const { deps: base, key, cluster, store, advance, clock } = await setup();
    const deps = { ...base, readHolderLease: holderLeaseReader(base.clusters) };
    const elected = cluster.get('Lease', key)?.spec as { leaseDurationSeconds?: number; renewTime?: string };
    const leaseDurationSeconds = elected.leaseDurationSeconds ?? 0;
    // Its last renewal, recorded through our API; it dies before the mirror pass copies it.
    advance(3_000);
    await store.recordRenewal(
      key,
      { holderIdentity: 'over-http', expectedHolder: 'over-http', leaseDurationSeconds },
      clock(),
    );
    await store.putHeartbeat(key, 'c', httpHeartbeat(key, 'next', '1.31.0', clock()), clock());
    advance(leaseDurationSeconds * 1000 + 1);
    await store.putHeartbeat(key, 'c', httpHeartbeat(key, 'next', '1.31.0', clock()), clock());

    await reconcileLease(deps, key);

    // Our copy is no renewal of the holder's: read as one, the holder kept its lease a lease duration longer.
    expect(cluster.get('Lease', key)?.spec).toMatchObject({ renewTime: elected.renewTime });
    expect((await store.loadLease(key)).lease?.record.holderIdentity).toBe('next');
  });

  it('takes one that renews its Lease there itself (client-go stamps microseconds; pushed heartbeats) as renewing there', async () => {
    const { deps, key, cluster, store, advance, clock } = await setup();
    advance(2_000);
    const renewed = structuredClone(cluster.get('Lease', key) ?? {}) as { spec: { renewTime?: string } };
    renewed.spec.renewTime = formatMicroTime(clock()).replace(/000Z$/, '417Z');
    expect(cluster.replace('Lease', renewed, 'over-http')).toMatchObject({ ok: true });

    expect((await ingestLease(deps, 'c', cluster.get('Lease', key) ?? {})).outcome).toBe('renewal');
    expect((await store.loadLease(key)).lease?.record.renewTime).toBe(clock());
  });

  it('keeps the home of one that renews its Lease itself when the Lease shows its release, our revoke or our fence', async () => {
    const { deps, key, cluster, store, advance, clock } = await setup();
    advance(1_000);
    const released = cluster.releaseLease(key, 'over-http');
    expect(released).toMatchObject({ ok: true });
    const state = await store.loadLease(key);
    const stamp = formatMicroTime(clock());
    for (const holderIdentity of ['', REVOKED_HOLDER, FENCED_HOLDER])
      expect(holderHome(key, state, { holderIdentity, renewTime: stamp })).toBe('c');
    // Our own write naming it, or no Lease: nothing there is the holder's.
    expect(holderHome(key, state, { holderIdentity: 'over-http', renewTime: stamp })).toBeUndefined();
    expect(holderHome(key, state)).toBeUndefined();

    // Its release there is recorded as one, not taken for drift.
    expect((await ingestLease(deps, 'c', cluster.get('Lease', key) ?? {})).outcome).toBe('release');
    expect((await store.loadLease(key)).lease?.record.holderIdentity).toBe('');
  });

  it('reads our copy of its holding, delivered after its release through our API, as drift, not a new holding', async () => {
    const { deps, key, cluster, store, advance, clock } = await setup();
    const before = structuredClone(cluster.get('Lease', key) ?? {});

    advance(1_000);
    await store.recordRenewal(
      key,
      { holderIdentity: '', expectedHolder: 'over-http', leaseDurationSeconds: 1 },
      clock(),
    );
    const released = (await store.loadLease(key)).lease;
    expect(released?.record.holderIdentity).toBe('');

    const outcome = await ingestLease(deps, 'c', before);

    expect(outcome.outcome).toBe('drift');
    expect((await store.loadLease(key)).lease).toEqual(released);
  });
});
