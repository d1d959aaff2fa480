import { describe, expect, it } from 'vitest';
import { REVOKED_HOLDER } from '../../lib/api/lease.js';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import { LEASE_SK, partitionKey } from '../../lib/store/keys.js';
import { HolderHints, hintFromRecord } from '../../lib/sync/holder-hints.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { singleCluster } from '../helpers/single-cluster.js';

/**
 * A holder's renewal is most of what ingest sees. After ingest has once recorded who holds a
 * lease, each renewal is one conditional write (no read), and wakes the mirror only for a lease
 * group or when the renewal stripped part of the decision.
 */
describe('ingest of a holder renewal through its hint (unit: in-memory fakes)', () => {
  async function setUp(scope: string) {
    const fixture = singleCluster(scope);
    const { deps, key, cluster, requests, table, heartbeat, advance } = fixture;
    await heartbeat('a', '1.30.0');
    await reconcileLease(deps, key);
    await mirrorLease(deps, key);
    const hints = new HolderHints();
    const renew = async () => {
      advance(1_000);
      expect(cluster.renewLease(key, 'a', 5)).toMatchObject({ ok: true });
      requests.length = 0;
      return ingestLease(deps, 'c', cluster.get('Lease', key) ?? {}, { hints });
    };
    const item = () => table.get(partitionKey(key), LEASE_SK) as Record<string, unknown> | undefined;
    return { ...fixture, renew, item, hints };
  }

  it('the first renewal reads; every later one is a single conditional write that wakes nothing', async () => {
    const { requests, renew, item } = await setUp('c');
    expect(await renew()).toMatchObject({ outcome: 'renewal', repair: false });
    expect(requests).toContain('loadLease');

    const before = item();
    const outcome = await renew();
    expect(outcome).toMatchObject({ outcome: 'renewal', repair: false });
    expect(requests).toEqual(['renewObservedLease']);
    expect(item()?.change).toBe('renewal-local');
    expect(item()?.version).toBe((before?.version as number) + 1);
    expect(item()?.renewTime).toBeGreaterThan(before?.renewTime as number);
  });

  it('in a lease group the renewal is marked for the mirror to copy into the other clusters', async () => {
    const { renew, item } = await setUp('c+d');
    await renew();
    await renew();
    expect(item()?.change).toBe('renewal');
  });

  it('a renewal that stripped the strategy asks for a repair', async () => {
    const { cluster, key, renew, requests } = await setUp('c');
    await renew();
    // A legacy renewer rebuilds the spec without the coordinator's fields.
    cluster.patchSpec('Lease', key, { strategy: null }, 'legacy');
    const outcome = await renew();
    expect(requests).toEqual(['renewObservedLease']);
    expect(outcome).toMatchObject({ outcome: 'renewal', repair: true });
  });

  it('a write of ours over the holder’s renewal (a put-back, a copy) is no renewal of the holder’s, though newer', async () => {
    const { deps, key, cluster, renew, item, hints, advance } = await setUp('c');
    await renew();
    const renewed = item();
    // Our write names the holder with a newer stamp of ours: managedFields say it is ours.
    advance(500);
    const lease = cluster.get('Lease', key) ?? {};
    const spec = {
      ...(lease.spec as Record<string, unknown>),
      renewTime: new Date(deps.clock()).toISOString().replace('Z', '000Z'),
    };
    expect(cluster.replace('Lease', { ...lease, spec }, 'coordinator')).toMatchObject({ ok: true });

    const outcome = await ingestLease(deps, 'c', cluster.get('Lease', key) ?? {}, { hints });
    expect(outcome.outcome).not.toBe('renewal');
    expect(outcome.outcome).not.toBe('kept');
    expect(item()?.observedRenewTime).toBe(renewed?.observedRenewTime);
    expect(item()?.renewTime).toBe(renewed?.renewTime);
  });

  /** "a"'s renewal recorded a few milliseconds after its stamp, as a watch delivers it. */
  async function recordedRenewal(scope: string) {
    const fixture = await setUp(scope);
    const { deps, key, cluster, renew, hints, advance } = fixture;
    await renew();
    advance(1_000);
    expect(cluster.renewLease(key, 'a', 5)).toMatchObject({ ok: true });
    advance(3);
    const lease = cluster.get('Lease', key) ?? {};
    expect(await ingestLease(deps, 'c', lease, { hints })).toMatchObject({ outcome: 'renewal' });
    return fixture;
  }

  it('a renewal already recorded, shown again (a relist, a new run’s list), is read at most, never written', async () => {
    const { deps, key, cluster, requests, item, hints } = await recordedRenewal('c');
    const recorded = item();
    for (const run of [hints, new HolderHints(), undefined]) {
      requests.length = 0;
      const outcome = await ingestLease(
        deps,
        'c',
        cluster.get('Lease', key) ?? {},
        run ? { hints: run } : {},
      );
      expect(outcome.outcome).toBe('unchanged');
      expect(requests.filter((r) => !r.startsWith('load'))).toEqual([]);
      expect(item()).toEqual(recorded);
    }
  });

  it('shown again after a decision the mirror did not carry to it, it is repaired', async () => {
    const { deps, key, cluster, requests, item, heartbeat } = await recordedRenewal('c');
    // "b" is the better candidate: the decision asks "a" to yield to it, and no mirror runs.
    await heartbeat('b', '1.29.0');
    await reconcileLease(deps, key);
    const decided = item();
    expect(decided?.preferredHolder).toBe('b');
    requests.length = 0;
    const outcome = await ingestLease(deps, 'c', cluster.get('Lease', key) ?? {}, {
      hints: new HolderHints(),
    });
    expect(outcome.outcome).toBe('drift');
    expect(requests.filter((r) => !r.startsWith('load'))).toEqual([]);
    expect(item()).toEqual(decided);
  });

  it('a stale hint costs one failed write, then the general path keeps the newer decision', async () => {
    const { deps, key, renew, requests, item, heartbeat, hints, advance } = await setUp('c');
    await renew();
    expect(hints.get(key)?.holder).toBe('a');
    // "a" goes silent; past its lease "b" is elected, and the table moves on without ingest.
    advance(6_000);
    await heartbeat('b', '1.31.0');
    await reconcileLease(deps, key);
    const decided = item();
    expect(decided?.holderIdentity).toBe('b');

    // A late renewal by "a" (its Lease write raced the decision) reaches ingest with the old hint.
    const outcome = await renew();
    expect(requests.slice(0, 2)).toEqual(['renewObservedLease', 'loadLease']);
    expect(outcome.outcome).toBe('drift');
    expect(item()).toEqual(decided);
    expect(hints.get(key)).toBeUndefined();
  });
});

describe('ingest of a candidate renewal (unit: in-memory fakes)', () => {
  it('is one conditional write, with no read, before and after the lease is decided', async () => {
    const { deps, key, requests, heartbeat, advance } = singleCluster();
    const renew = async () => {
      advance(1_000);
      requests.length = 0;
      return heartbeat('a', '1.31.0');
    };
    await renew();
    expect((await renew()).outcome).toBe('stored');
    expect(requests).toEqual(['putHeartbeat:renew']);
    await reconcileLease(deps, key);

    expect((await renew()).outcome).toBe('stored');
    expect(requests).toEqual(['putHeartbeat:renew']);
  });
});

describe('HolderHints (unit)', () => {
  it('takes no record from our own stamp (a decision just mirrored): the holder’s first renewal is recorded', async () => {
    const fixture = singleCluster();
    await fixture.heartbeat('a', '1.30.0');
    await reconcileLease(fixture.deps, fixture.key);
    await mirrorLease(fixture.deps, fixture.key);
    const hints = new HolderHints();
    const lease = fixture.cluster.get('Lease', fixture.key) ?? {};
    expect(await ingestLease(fixture.deps, 'c', lease, { hints })).toMatchObject({ outcome: 'unchanged' });
    expect(hints.get(fixture.key)?.holder).toBe('a');
    expect(hints.get(fixture.key)?.recorded).toBeUndefined();
  });

  it('seeds no hint for our placeholder holder, nor for a record without a renewal seen in its cluster', () => {
    const record = {
      term: 3,
      holderIdentity: 'a',
      holderCluster: 'c',
      leaseDurationSeconds: 15,
      renewTime: 1,
    };
    expect(hintFromRecord({ record, version: 4, observedRenewTime: 1 })).toMatchObject({
      holder: 'a',
      cluster: 'c',
    });
    expect(
      hintFromRecord({
        record: { ...record, holderIdentity: REVOKED_HOLDER },
        version: 4,
        observedRenewTime: 1,
      }),
    ).toBeUndefined();
    expect(hintFromRecord({ record, version: 4 })).toBeUndefined();
  });

  it('forgets the oldest hint past its capacity', () => {
    const hints = new HolderHints(2);
    const key = (name: string): LeaseKey => ({ scope: 'c', namespace: 'ns', name });
    hints.set(key('x'), { holder: 'h', cluster: 'c', observedRenewTime: 1 });
    hints.set(key('y'), { holder: 'h', cluster: 'c', observedRenewTime: 1 });
    hints.set(key('x'), { holder: 'h', cluster: 'c', observedRenewTime: 2 });
    hints.set(key('z'), { holder: 'h', cluster: 'c', observedRenewTime: 1 });
    expect(hints.size).toBe(2);
    expect(hints.get(key('y'))).toBeUndefined();
    expect(hints.get(key('x'))?.observedRenewTime).toBe(2);
  });
});
