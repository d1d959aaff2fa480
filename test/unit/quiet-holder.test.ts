import { afterEach, describe, expect, it, vi } from 'vitest';
import { recordQuietHolderRenewal } from '../../lib/coordinator/quiet-holder.js';
import { reconcileLease, reconcileLeaseWithOutcome } from '../../lib/coordinator/reconcile-lease.js';
import { PRE_PING_LEAD_MS } from '../../lib/election/timing.js';
import type { CoordinatorDeps } from '../../lib/ports/coordinator.js';
import { HolderHints } from '../../lib/sync/holder-hints.js';
import { holderLeaseReader } from '../../lib/sync/holder-lease-reader.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { keptDeadlines } from '../../lib/sync/ingest-deadlines.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { FirstSightings } from '../../lib/sync/renewal-sightings.js';
import { singleCluster } from '../helpers/single-cluster.js';

/**
 * lib/coordinator/quiet-holder.ts: once a holder has gone quiet past its recorded pre-ping, ingest
 * records the last renewal it kept unrecorded, dated at its first sighting, so that the deciders at
 * the deadline judge a record that is the truth and do not each find it, record it and decide again.
 */
describe('the last renewal of a holder gone quiet, recorded before its deadline (unit: in-memory fakes)', () => {
  /** "a" elected on 15 s leases; its renewals go through ingest, which keeps those within its bound unrecorded. */
  async function quietHolder() {
    const fixture = singleCluster();
    const { deps: base, key, cluster, heartbeat, advance, store, clock } = fixture;
    const sightings = new FirstSightings();
    const reads: string[] = [];
    const reader = holderLeaseReader(base.clusters);
    const deps: CoordinatorDeps = {
      ...base,
      renewalSightings: sightings,
      readHolderLease: async (name, leaseKey) => {
        reads.push(name);
        return reader(name, leaseKey);
      },
    };
    await heartbeat('a', '1.30.0');
    await reconcileLease(deps, key);
    await mirrorLease(base, key);
    const hints = new HolderHints();
    const renew = async () => {
      advance(2_000);
      expect(cluster.renewLease(key, 'a', 15)).toMatchObject({ ok: true });
      await ingestLease(base, 'c', cluster.get('Lease', key) ?? {}, { hints, sightings });
    };
    for (let i = 0; i < 4; i++) await renew();
    // The first decision's adoption read the cluster: count only what comes after.
    reads.length = 0;
    const record = async () => (await store.loadLease(key)).lease;
    return {
      ...fixture,
      deps,
      reads,
      record,
      clock,
      lastRenewal: () => cluster.get('Lease', key)?.spec as { renewTime?: string } | undefined,
    };
  }

  it('past the recorded pre-ping, records the renewal ingest kept, dated at its sighting', async () => {
    const { deps, key, advance, record, clock, lastRenewal } = await quietHolder();
    const before = await record();
    // The last renewals were kept unrecorded: the record lags the Lease.
    const shown = Date.parse(String(lastRenewal()?.renewTime));
    expect(before?.observedRenewTime).toBeLessThan(shown);
    const sawItAt = clock();
    // The holder dies. Its recorded pre-ping comes (15 s after the recorded renewal, less the lead).
    advance((before?.record.renewTime ?? 0) + 15_000 - PRE_PING_LEAD_MS - clock());
    await recordQuietHolderRenewal(deps, key);
    const after = await record();
    expect(after?.observedRenewTime).toBe(shown);
    // Dated when ingest first saw it, not at this read.
    expect(after?.record.renewTime).toBe(sawItAt);
  });

  it('reads nothing while the holder is not late, nor once its lease has run out', async () => {
    const { deps, key, advance, record, clock, reads } = await quietHolder();
    const before = await record();
    await recordQuietHolderRenewal(deps, key);
    expect(reads).toEqual([]);
    advance((before?.record.renewTime ?? 0) + 15_001 - clock());
    await recordQuietHolderRenewal(deps, key);
    expect(reads).toEqual([]);
    expect((await record())?.version).toBe(before?.version);
  });

  it.each([
    ['recorded at the pre-ping, the takeover reads the holder’s Lease once', true, 1],
    ['left for the deadline (as before), it reads it twice and decides again', false, 2],
  ] as const)('at the deadline, with the last renewal %s', async (_how, recorded, leaseReads) => {
    const { deps, key, advance, record, clock, reads, heartbeat } = await quietHolder();
    const sawItAt = clock();
    advance(((await record())?.record.renewTime ?? 0) + 15_000 - PRE_PING_LEAD_MS - clock());
    if (recorded) await recordQuietHolderRenewal(deps, key);
    reads.length = 0;
    // "b" stands by and answers; "a"'s true deadline passes.
    advance(sawItAt + 15_001 - clock() - 1_000);
    await heartbeat('b', '1.31.0');
    advance(1_000);
    const { step, contended } = await reconcileLeaseWithOutcome(deps, key);
    expect(step.action).toBe('takeover');
    expect((await record())?.record.holderIdentity).toBe('b');
    expect(reads).toHaveLength(leaseReads);
    expect(contended).toBe(!recorded);
  });
  describe('wired into ingest’s kept deadlines', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('the kept step at the recorded pre-ping is followed by the read that records the kept renewal', async () => {
      const { deps, key, advance, record, clock, lastRenewal, cluster } = await quietHolder();
      const before = await record();
      const shown = Date.parse(String(lastRenewal()?.renewTime));
      // Only timers are faked: the fixture's clock is the lease's time, moved by the test.
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
      const cover = { coveredClusters: async () => new Set(['c']), extend: async () => {}, keep: () => {} };
      const kept = keptDeadlines(
        { ...deps, timerCover: cover },
        { ...deps, clusters: { get: async () => cluster.port() } },
      );
      if (kept === undefined)
        throw new Error('keptDeadlines returned no memory for a coordinator with a cover');
      // The holder dies; its recorded pre-ping comes, and ingest's memory takes the step it kept.
      advance((before?.record.renewTime ?? 0) + 15_000 - PRE_PING_LEAD_MS - clock());
      kept.deadlines.keep(key, 'a', clock());
      await vi.advanceTimersByTimeAsync(0);
      await kept.deadlines.stop();
      expect((await record())?.observedRenewTime).toBe(shown);
    });
  });
});
