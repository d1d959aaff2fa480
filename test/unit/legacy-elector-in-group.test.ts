import type { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { TERM_ANNOTATION } from '../../lib/api/lease.js';
import { formatMicroTime } from '../../lib/api/time.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { heldByOld } from '../helpers/two-clusters.js';

/**
 * "old" holds the group's lease from "a" and dies; in "b", a legacy client-go elector
 * (Coordinated: false) finds the copy expired and takes it, as client-go does: an Update of the
 * whole spec that keeps the annotations.
 */
async function legacyTakesTheCopy() {
  const fixture = await heldByOld();
  fixture.advance(6_000);
  const copy = fixture.planes.b.get('Lease', fixture.key) ?? {};
  copy.spec = {
    holderIdentity: 'legacy',
    leaseDurationSeconds: 15,
    acquireTime: formatMicroTime(fixture.planes.b.localNow()),
    renewTime: formatMicroTime(fixture.planes.b.localNow()),
    leaseTransitions: 1,
  };
  expect(fixture.planes.b.replace('Lease', copy, 'legacy')).toMatchObject({ ok: true });
  return fixture;
}

const holderIn = (fixture: Awaited<ReturnType<typeof heldByOld>>, cluster: 'a' | 'b') =>
  (fixture.planes[cluster].get('Lease', fixture.key)?.spec as { holderIdentity?: string }).holderIdentity;

describe('a legacy elector in another cluster of the group (unit: in-memory table and clusters)', () => {
  it('is recorded as the holder, under a new term, and copied into the holder’s old cluster', async () => {
    const fixture = await legacyTakesTheCopy();
    const before = (await fixture.store.loadLease(fixture.key)).lease?.record;

    const ingested = await ingestLease(fixture.deps, 'b', fixture.planes.b.get('Lease', fixture.key) ?? {});
    expect(ingested.outcome).toBe('observed');
    const record = (await fixture.store.loadLease(fixture.key)).lease?.record;
    expect(record).toMatchObject({
      holderIdentity: 'legacy',
      holderCluster: 'b',
      term: (before?.term ?? 0) + 1,
    });

    await mirrorLease(fixture.deps, fixture.key);
    // The live legacy holder is left as it is; the dead one's Lease now names it.
    expect(holderIn(fixture, 'b')).toBe('legacy');
    expect(holderIn(fixture, 'a')).toBe('legacy');
    expect(fixture.planes.a.get('Lease', fixture.key)?.metadata?.annotations?.[TERM_ANNOTATION]).toBe(
      String(record?.term),
    );
    // "old" restarting with the same identity finds the Lease held by someone else: it does not lead.
    expect(fixture.planes.a.renewLease(fixture.key, 'old', 5)).toBe('not-holder');
  });

  it('repairs a copy only edited by hand (the holder’s name changed, the stamp we wrote kept)', async () => {
    const fixture = await heldByOld();
    const copy = fixture.planes.b.get('Lease', fixture.key) ?? {};
    copy.spec = { ...(copy.spec as Record<string, unknown>), holderIdentity: 'intruder' };
    fixture.planes.b.replace('Lease', copy, 'someone');

    const ingested = await ingestLease(fixture.deps, 'b', fixture.planes.b.get('Lease', fixture.key) ?? {});
    expect(ingested.outcome).toBe('drift');
    expect((await fixture.store.loadLease(fixture.key)).lease?.record.holderIdentity).toBe('old');
    await mirrorLease(fixture.deps, fixture.key);
    expect(holderIn(fixture, 'b')).toBe('old');
  });

  it('is not written over by a mirror pass that comes before ingest has seen it: the mirror records it', async () => {
    const fixture = await legacyTakesTheCopy();
    const before = (await fixture.store.loadLease(fixture.key)).lease?.record;

    // The pass carries the decision naming "old", older than the legacy elector's holding.
    expect(await mirrorLease(fixture.deps, fixture.key)).toMatchObject({ b: 'held-by-another' });
    expect(holderIn(fixture, 'b')).toBe('legacy');
    expect((await fixture.store.loadLease(fixture.key)).lease?.record).toMatchObject({
      holderIdentity: 'legacy',
      holderCluster: 'b',
      term: (before?.term ?? 0) + 1,
    });
    // The next pass carries that record: both clusters name the legacy holder.
    await mirrorLease(fixture.deps, fixture.key);
    expect(holderIn(fixture, 'a')).toBe('legacy');
    expect(holderIn(fixture, 'b')).toBe('legacy');
  });
});

describe('a table that fails while the mirror records a legacy holder (unit)', () => {
  it('leaves the Lease alone, reports held-by-another, and still sends the cluster’s pings', async () => {
    const fixture = await legacyTakesTheCopy();
    await fixture.heartbeat('b', fixture.key, 'bee', '1.33.0');
    const { candidates } = await fixture.store.loadLease(fixture.key);
    const bee = candidates.filter((c) => c.name === 'bee');
    expect(await fixture.store.pingCandidates(fixture.key, bee, fixture.deps.clock())).toHaveLength(1);
    const warned: string[] = [];
    const said = (message: string) => void warned.push(message);
    const logger = { debug: () => {}, info: () => {}, warn: said, error: said } as unknown as Logger;
    const store = Object.assign(Object.create(fixture.store), {
      observeLease: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
    });

    const pingTime = () =>
      (
        fixture.planes.b.get('LeaseCandidate', { namespace: fixture.key.namespace, name: 'bee' })?.spec as {
          pingTime?: string;
        }
      ).pingTime;
    expect(pingTime()).toBeUndefined();

    const outcomes = await mirrorLease({ ...fixture.deps, store, logger }, fixture.key);

    expect(outcomes).toMatchObject({ b: 'held-by-another' });
    expect(holderIn(fixture, 'b')).toBe('legacy');
    // The cluster answered: its candidate's ping went out, and nothing says the cluster was lost.
    expect(pingTime()).toBeDefined();
    expect(warned).not.toContain('cluster unreachable; it is caught up later');
    expect(warned).toContain(
      'cannot record the holder another elector took; the next pass or ingest records it',
    );
  });
});
