import { describe, expect, it } from 'vitest';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import type { CoordinatorDeps } from '../../lib/ports/coordinator.js';
import { LEASE_SK, partitionKey } from '../../lib/store/keys.js';
import { HolderHints } from '../../lib/sync/holder-hints.js';
import { holderLeaseReader } from '../../lib/sync/holder-lease-reader.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { FirstSightings } from '../../lib/sync/renewal-sightings.js';
import { singleCluster } from '../helpers/single-cluster.js';

const A = { cluster: 'c', holder: 'a', renewTime: 1_000 };
const key = { scope: 'c', namespace: 'kube-system', name: 'solo' };

describe('first sightings of holders’ renewals (unit)', () => {
  it('keeps the first sighting of a renewal, and forgets it for a later one', () => {
    const sightings = new FirstSightings();
    sightings.saw(key, A, 5_000);
    sightings.saw(key, A, 6_000);
    expect(sightings.firstSeen(key, A)).toBe(5_000);
    sightings.saw(key, { ...A, renewTime: 2_000 }, 7_000);
    expect(sightings.firstSeen(key, A)).toBeUndefined();
    expect(sightings.firstSeen(key, { ...A, renewTime: 2_000 })).toBe(7_000);
  });

  it('an older renewal shown again (a list behind a watch) leaves the later one', () => {
    const sightings = new FirstSightings();
    sightings.saw(key, { ...A, renewTime: 2_000 }, 7_000);
    sightings.saw(key, A, 8_000);
    expect(sightings.firstSeen(key, { ...A, renewTime: 2_000 })).toBe(7_000);
    expect(sightings.firstSeen(key, A)).toBeUndefined();
  });

  it('matches the holder and its cluster, not only the stamp', () => {
    const sightings = new FirstSightings();
    sightings.saw(key, A, 5_000);
    expect(sightings.firstSeen(key, { ...A, holder: 'b' })).toBeUndefined();
    expect(sightings.firstSeen(key, { ...A, cluster: 'd' })).toBeUndefined();
  });

  it('keeps each cluster’s apart: in a lease group the copies elsewhere name the holder too', () => {
    const sightings = new FirstSightings();
    sightings.saw(key, A, 5_000);
    sightings.saw(key, { ...A, cluster: 'd', renewTime: 9_000 }, 5_500);
    expect(sightings.firstSeen(key, A)).toBe(5_000);
    expect(sightings.firstSeen(key, { ...A, cluster: 'd', renewTime: 9_000 })).toBe(5_500);
  });

  it('holds at most its capacity, the oldest going first', () => {
    const sightings = new FirstSightings(2);
    const keys = ['x', 'y', 'z'].map((name) => ({ ...key, name }));
    keys.forEach((k, i) => void sightings.saw(k, A, i));
    expect(keys.map((k) => sightings.firstSeen(k, A))).toEqual([undefined, 1, 2]);
  });
});

/**
 * The deployed ingest starts a run every minute and runs overlap: a renewal the old run kept
 * unrecorded is news to the new run's list, which records it at the list's time (docs/design.md,
 * "Renewals kept by ingest"). The old run's steps judge the holder from their own first sighting.
 */
describe('an ingest run hands over to the next (unit: in-memory fakes)', () => {
  /** "a" elected (5 s leases) and renewing 1 s apart, seen by run 1, whose steps know its sightings. */
  async function setUp() {
    const fixture = singleCluster();
    const { deps: base, key, cluster, heartbeat, advance, clock, table, store } = fixture;
    const deps: CoordinatorDeps = { ...base, readHolderLease: holderLeaseReader(base.clusters) };
    await heartbeat('a', '1.30.0');
    await reconcileLease(deps, key);
    await mirrorLease(base, key);
    const run = () => ({ hints: new HolderHints(), sightings: new FirstSightings() });
    const first = run();
    const stepsOf = (r: ReturnType<typeof run>): CoordinatorDeps => ({
      ...deps,
      renewalSightings: r.sightings,
    });
    const show = (r: ReturnType<typeof run>) => ingestLease(base, 'c', cluster.get('Lease', key) ?? {}, r);
    const renew = () => expect(cluster.renewLease(key, 'a', 5)).toMatchObject({ ok: true });
    for (let i = 0; i < 2; i++) {
      advance(1_000);
      renew();
      await show(first);
    }
    const recordedAt = () => (table.get(partitionKey(key), LEASE_SK) as { renewTime: number }).renewTime;
    const holder = async () => (await store.loadLease(key)).lease?.record.holderIdentity;
    // A timer's or the sweep's steps, which run where no watch is: they have no sightings.
    const unwatched = deps;
    return { ...fixture, run, first, stepsOf, unwatched, show, renew, recordedAt, holder, clock, advance };
  }

  it('a holder that died after a renewal run 1 kept is taken over at run 1’s sighting, not run 2’s list', async () => {
    const { key, run, first, stepsOf, show, renew, recordedAt, holder, heartbeat, clock, advance } =
      await setUp();
    advance(1_000);
    renew();
    expect(await show(first)).toMatchObject({ outcome: 'kept' });
    const renewedAt = clock();

    // "a" dies. Run 2 starts 3 s later: its list records the kept renewal at the list's time.
    advance(3_000);
    const second = run();
    expect(await show(second)).toMatchObject({ outcome: 'renewal' });
    expect(recordedAt()).toBe(clock());

    // One lease duration after run 1 saw the renewal: run 1's step names "b"; run 2's would not yet.
    advance(renewedAt + 5_001 - clock());
    await heartbeat('b', '1.31.0');
    await reconcileLease(stepsOf(second), key);
    expect(await holder()).toBe('a');
    await reconcileLease(stepsOf(first), key);
    expect(await holder()).toBe('b');
  });

  it('a live holder is kept: a sighting one lease duration old of a renewal since replaced is not used', async () => {
    const { key, first, stepsOf, show, renew, holder, heartbeat, clock, advance } = await setUp();
    advance(1_000);
    renew();
    await show(first);
    const sawAt = clock();
    // "a" renews again, shown only to another process; run 1's sighting is of the renewal before.
    advance(1_000);
    renew();
    advance(sawAt + 5_001 - clock());
    await heartbeat('b', '1.31.0');
    await reconcileLease(stepsOf(first), key);
    expect(await holder()).toBe('a');
  });

  it('a holder that renews over our API after a renewal run 1 saw is judged by that renewal, not the sighting', async () => {
    const { key, first, stepsOf, show, renew, store, holder, heartbeat, clock, advance } = await setUp();
    advance(2_000);
    renew();
    expect(await show(first)).toMatchObject({ outcome: 'renewal' });
    const sawAt = clock();
    // "a" renews through our API: the record moves on, the Lease in its cluster does not.
    advance(2_000);
    await store.recordRenewal(
      key,
      { holderIdentity: 'a', expectedHolder: 'a', leaseDurationSeconds: 5 },
      clock(),
    );
    advance(sawAt + 5_001 - clock());
    await heartbeat('b', '1.31.0');
    await reconcileLease(stepsOf(first), key);
    expect(await holder()).toBe('a');
  });

  it('a renewal the takeover check finds before the watch shows it is dated at the read, not at its stamp', async () => {
    const { key, first, stepsOf, renew, recordedAt, holder, heartbeat, clock, advance } = await setUp();
    const recorded = recordedAt();
    // "a" renews; run 1's watch has not shown it when the record's deadline passes and its step reads the Lease.
    advance(1_000);
    renew();
    advance(recorded + 5_001 - clock());
    await heartbeat('b', '1.31.0');
    await reconcileLease(stepsOf(first), key);
    expect(await holder()).toBe('a');
    expect(recordedAt()).toBe(clock());
  });

  it('a renewal the takeover check finds is dated at its first sighting, not at its stamp', async () => {
    const { key, cluster, first, stepsOf, show, recordedAt, holder, heartbeat, clock, advance } =
      await setUp();
    const recorded = recordedAt();
    // "a" stamps a renewal whose write commits 1.3 s later (a slow apiserver): run 1 sees it then,
    // within the bound, and keeps it. Mapped from its stamp, it would be dated 1.3 s early.
    advance(1_500);
    expect(cluster.renewLease(key, 'a', 5, 1_300)).toMatchObject({ ok: true });
    expect(await show(first)).toMatchObject({ outcome: 'kept' });
    const seenAt = clock();
    // The record's deadline passes: the step reads "a"'s Lease and records the renewal it kept.
    advance(recorded + 5_001 - clock());
    await heartbeat('b', '1.31.0');
    await reconcileLease(stepsOf(first), key);
    expect(await holder()).toBe('a');
    expect(recordedAt()).toBe(seenAt);
  });

  it('a step with no sightings (a timer, the sweep) dates a renewal it finds at the read, not at its stamp', async () => {
    const { key, cluster, unwatched, recordedAt, holder, heartbeat, clock, advance } = await setUp();
    const recorded = recordedAt();
    // "a" stamps a renewal whose write commits 1.3 s later (a slow apiserver), and no ingest sees it.
    // client-go leads from its write's answer: up to RetryPeriod + RenewDeadline after the commit.
    advance(200);
    const stampedAt = clock();
    advance(1_300);
    expect(cluster.renewLease(key, 'a', 5, 1_300)).toMatchObject({ ok: true });
    // The record's deadline passes: a timer's step reads "a"'s Lease and records the renewal at the read.
    advance(recorded + 5_001 - clock());
    await heartbeat('b', '1.31.0');
    const readAt = clock();
    await reconcileLease(unwatched, key);
    expect(recordedAt()).toBe(readAt);
    // One lease duration after the stamp, "a" may still lead: mapped from its stamp, it was taken over here.
    advance(stampedAt + 5_001 - clock());
    await reconcileLease(unwatched, key);
    expect(await holder()).toBe('a');
    advance(readAt + 5_001 - clock());
    await heartbeat('b', '1.31.0');
    await reconcileLease(unwatched, key);
    expect(await holder()).toBe('b');
  });
});
