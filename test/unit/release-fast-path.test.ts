import { describe, expect, it } from 'vitest';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import type { CoordinatorStore } from '../../lib/ports/store.js';
import { decideAndMirror, type RecordedRelease } from '../../lib/sync/decide-now.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { heldByOld } from '../helpers/two-clusters.js';

/**
 * "old" holds the lease grouped over "a" and "b" from "a", "next" stands by in "a"; a second
 * later "old" lets go of its Lease in "a" (client-go's release) and ingest records that.
 */
async function releasedByOld() {
  const fixture = await heldByOld();
  const { deps, planes, key } = fixture;
  fixture.advance(1_000);
  expect(planes.a.releaseLease(key, 'old')).toMatchObject({ ok: true });
  const lease = planes.a.get('Lease', key) ?? {};
  const ingested = await ingestLease(deps, 'a', lease);
  expect(ingested.outcome).toBe('release');
  const release: RecordedRelease | undefined =
    ingested.released === undefined
      ? undefined
      : { known: { state: ingested.released, answered: ['a'] }, cluster: 'a', lease };
  // What the fast path reads from here on.
  const loads: string[] = [];
  const store: CoordinatorStore = Object.create(deps.store);
  store.loadLease = async (key) => {
    loads.push(key.name);
    return deps.store.loadLease(key);
  };
  fixture.requests.length = 0;
  return { ...fixture, release, counted: { ...deps, store }, loads };
}

const holderIn = (fixture: Awaited<ReturnType<typeof releasedByOld>>, cluster: 'a' | 'b') =>
  (fixture.planes[cluster].get('Lease', fixture.key)?.spec as { holderIdentity?: string } | undefined)
    ?.holderIdentity;

describe('the fast path decides on the release ingest recorded (unit: in-memory table and clusters)', () => {
  it('names the successor without reading the table or the holder’s cluster again', async () => {
    const fixture = await releasedByOld();
    const { counted, key, release, loads, requests } = fixture;

    const step = await decideAndMirror(counted, counted, key, release === undefined ? {} : { release });

    expect(step.action).toBe('takeover');
    expect(step.write?.holderIdentity).toBe('next');
    expect(holderIn(fixture, 'a')).toBe('next');
    expect(holderIn(fixture, 'b')).toBe('next');
    // Ingest's own read before its release write is the only table read; the Lease it saw in "a"
    // answers both the successor's check there and the mirror's read before its write.
    expect(loads).toEqual([]);
    expect(requests.filter((r) => r === 'a:readLease')).toEqual([]);
    expect(requests.filter((r) => r === 'a:replaceLease')).toHaveLength(1);
  });

  it('decides again from the table when another writer decided after the release', async () => {
    const fixture = await releasedByOld();
    const { counted, deps, key, release, loads, store } = fixture;
    // The stream's elect takes the same step first: the release state is one version behind.
    const first = await reconcileLease(deps, key);
    expect(first.write?.holderIdentity).toBe('next');

    await decideAndMirror(counted, counted, key, release === undefined ? {} : { release });

    const record = (await store.loadLease(key)).lease?.record;
    // One new term for one handover, not two.
    expect(record?.holderIdentity).toBe('next');
    expect(record?.term).toBe(first.write?.term);
    // The retry's fresh read only: it finds "old" (still a candidate, and better) to prefer, and
    // the mirror writes that step's own decision without reading it back.
    expect(loads).toEqual([key.name]);
    expect(holderIn(fixture, 'a')).toBe('next');
  });

  it('reads the holder’s Lease afresh once the table moved past the release: the Lease ingest saw is as old', async () => {
    const fixture = await releasedByOld();
    const { deps, key, planes, release, store } = fixture;
    // The stream's elect names "next" at once, and the mirror writes it into "a".
    const first = await reconcileLease(deps, key);
    expect(first.write?.holderIdentity).toBe('next');
    await mirrorLease(deps, key);
    const leaseMs = (first.write?.leaseDurationSeconds ?? 0) * 1000;
    // The fast path's own write of the same step is slow: meanwhile "next" renews its Lease in "a"
    // unseen by ingest (its record lags), and both candidates are heard again.
    const slow: CoordinatorStore = Object.create(store);
    let meanwhile = true;
    slow.writeLease = async (...args) => {
      if (meanwhile) {
        meanwhile = false;
        fixture.advance(leaseMs - 1_000);
        expect(planes.a.renewLease(key, 'next', leaseMs / 1000)).toMatchObject({ ok: true });
        fixture.advance(2_000);
        await fixture.heartbeat('a', key, 'old', '1.34.0');
        await fixture.heartbeat('a', key, 'next', '1.35.0');
      }
      return store.writeLease(...args);
    };

    // Its compare-and-set is lost, and the retry finds "next" expired on record: a takeover by
    // "old", ranked above it, unless the retry reads the Lease in "a" rather than the release ingest saw.
    const fast = { ...deps, store: slow };
    await decideAndMirror(fast, fast, key, release === undefined ? {} : { release });

    expect(meanwhile).toBe(false);
    const record = (await store.loadLease(key)).lease?.record;
    expect(record?.holderIdentity).toBe('next');
    expect(record?.term).toBe(first.write?.term);
    expect(holderIn(fixture, 'a')).toBe('next');
  });
});
