import { describe, expect, it } from 'vitest';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { renewalRecordBoundMs } from '../../lib/election/timing.js';
import type { CoordinatorDeps, IngestDeps } from '../../lib/ports/coordinator.js';
import { LEASE_SK, partitionKey } from '../../lib/store/keys.js';
import { HolderHints } from '../../lib/sync/holder-hints.js';
import { holderLeaseReader } from '../../lib/sync/holder-lease-reader.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { singleCluster } from '../helpers/single-cluster.js';

/**
 * Ingest keeps a held lease's renewals in memory while the deadline it would record is within its
 * bound of the recorded one (docs/design.md, "Renewals kept by ingest"): such a renewal costs no
 * table request. A takeover never goes by that lagging record alone: it reads the holder's cluster.
 */
describe('renewals kept by ingest (unit: in-memory fakes)', () => {
  /** 5 s leases: the bound is 1,666 ms, so renewals 1 s apart are recorded every other time. */
  async function setUp(ingestPolicy: Pick<IngestDeps, 'holderClusterUnreachable'> = {}) {
    const fixture = singleCluster();
    const { deps: base, key, cluster, heartbeat, advance, requests, table, store } = fixture;
    const deps: CoordinatorDeps = { ...base, readHolderLease: holderLeaseReader(base.clusters) };
    await heartbeat('a', '1.30.0');
    await reconcileLease(deps, key);
    await mirrorLease(base, key);
    const hints = new HolderHints();
    const renew = async (afterMs = 1_000) => {
      advance(afterMs);
      expect(cluster.renewLease(key, 'a', 5)).toMatchObject({ ok: true });
      requests.length = 0;
      return ingestLease({ ...base, ...ingestPolicy }, 'c', cluster.get('Lease', key) ?? {}, { hints });
    };
    // The first renewal takes the general path, the second the hint's write: ingest knows the record.
    await renew();
    await renew();
    const item = () => table.get(partitionKey(key), LEASE_SK) as unknown as Record<string, unknown>;
    const holder = async () => (await store.loadLease(key)).lease?.record.holderIdentity;
    return { ...fixture, deps, renew, item, holder };
  }

  it('a renewal within the bound costs no table request; the next past it one write', async () => {
    const { renew, item, requests, clock } = await setUp();
    expect(renewalRecordBoundMs(5)).toBe(1_666);
    const recorded = item();
    expect(await renew()).toMatchObject({ outcome: 'kept', repair: false });
    expect(requests).toEqual([]);
    expect(item()).toEqual(recorded);

    // 2 s after the recorded renewal: the deadline would move by more than the bound.
    expect(await renew()).toMatchObject({ outcome: 'renewal' });
    expect(requests).toEqual(['renewObservedLease']);
    expect(item().renewTime).toBe(clock());
  });

  it('records every renewal of a lease whose takeovers go by the record alone (TakeOver)', async () => {
    const { renew, requests } = await setUp({ holderClusterUnreachable: () => 'TakeOver' });
    expect(await renew()).toMatchObject({ outcome: 'renewal' });
    expect(requests).toEqual(['renewObservedLease']);
  });

  it('an early timer on a lagging record reads the cluster, keeps the live holder and records the renewal at the read', async () => {
    const { deps, key, renew, item, holder, heartbeat, advance, clock, cluster } = await setUp();
    const recordedAt = item().renewTime as number;
    await renew();
    expect(item().renewTime).toBe(recordedAt);

    // The recorded deadline passes (the true one is 1 s later): the timer's step reads "a"'s Lease.
    advance(recordedAt + 5_001 - clock());
    await heartbeat('b', '1.31.0');
    const readAt = clock();
    await reconcileLease(deps, key);
    expect(await holder()).toBe('a');
    // A timer has no sighting of the renewal: it is committed by the read, and its stamp only says
    // when the holder's write began (renewal-sightings.test.ts, "a step with no sightings").
    expect(item().renewTime).toBe(readAt);
    expect(cluster.get('Lease', key)?.spec).toMatchObject({ holderIdentity: 'a' });

    // "a" has died after that renewal: without ingest, the failover comes one lease duration after the read.
    advance(readAt + 5_001 - clock());
    await heartbeat('b', '1.31.0');
    await reconcileLease(deps, key);
    expect(await holder()).toBe('b');
  });
});
