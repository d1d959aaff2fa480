import { describe, expect, it } from 'vitest';
import { TERM_ANNOTATION } from '../../lib/api/lease.js';
import { formatMicroTime } from '../../lib/api/time.js';
import { confirmTakeover, UNREACHABLE_RETRY_MS } from '../../lib/coordinator/confirm-takeover.js';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import type { RawObject } from '../../lib/ports/cluster.js';
import type { CoordinatorDeps } from '../../lib/ports/coordinator.js';
import type { StoredLease } from '../../lib/ports/store.js';
import { holderLeaseReader } from '../../lib/sync/holder-lease-reader.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { singleCluster } from '../helpers/single-cluster.js';

/**
 * Found by the fault-injection e2e test (table writes throttled): ingest could not record the
 * holder's renewals, the holder looked expired, and the takeover gave the lease a second leader
 * until the first one's renew deadline ran out. A takeover from an expired holder now reads the
 * holder's own Lease first.
 */
/** "a" elected and mirrored in a cluster whose clock runs 400 ms behind ours; the takeover reads its Lease. */
async function electedBehindOurClock() {
  const fixture = singleCluster('c', 'solo', 'kube-system', {}, -400);
  const { deps: base, key, heartbeat } = fixture;
  const deps: CoordinatorDeps = { ...base, readHolderLease: holderLeaseReader(base.clusters) };
  await heartbeat('a', '1.30.0');
  await reconcileLease(deps, key);
  await mirrorLease(base, key);
  return { ...fixture, base, deps };
}

describe('takeover from a holder that only looks expired (unit: in-memory fakes)', () => {
  async function setUp() {
    const fixture = singleCluster();
    const { deps: base, key, cluster, heartbeat, store } = fixture;
    let reachable = true;
    /** How long the next reads of the holder's Lease take, on the test's clock. */
    let answerAfterMs = 0;
    const deps: CoordinatorDeps = {
      ...base,
      readHolderLease: async (name, leaseKey) => {
        if (!reachable) throw new Error('connect ECONNREFUSED');
        // The request is answered as the cluster stood when it was sent (a hung apiserver's
        // queue), and the answer arrives answerAfterMs later.
        const answer = await holderLeaseReader(base.clusters)(name, leaseKey);
        fixture.advance(answerAfterMs);
        return answer;
      },
    };
    await heartbeat('a', '1.30.0');
    await reconcileLease(deps, key);
    await mirrorLease(base, key);
    // "a" renews once through ingest, so the table knows what it last saw of it.
    cluster.renewLease(key, 'a', 5);
    await ingestLease(base, 'c', cluster.get('Lease', key) ?? {});
    await heartbeat('b', '1.31.0');
    return {
      ...fixture,
      deps,
      base,
      // "b" stays alive throughout, so the vote needs no ping.
      renewB: () => heartbeat('b', '1.31.0'),
      holder: async () => (await store.loadLease(key)).lease?.record.holderIdentity,
      cutOff: () => {
        reachable = false;
      },
      reconnect: () => {
        reachable = true;
      },
      answerAfter: (ms: number) => {
        answerAfterMs = ms;
      },
    };
  }

  it('records the renewal ingest missed and keeps the live holder', async () => {
    const { deps, base, key, cluster, holder, advance, renewB } = await setUp();
    // Ingest falls behind: "a" keeps renewing in its cluster, and none of it reaches the table.
    for (let i = 0; i < 6; i++) {
      advance(1_000);
      cluster.renewLease(key, 'a', 5);
    }
    await renewB();
    await reconcileLease(deps, key);
    expect(await holder()).toBe('a');
    expect((await base.store.loadLease(key)).lease?.record.renewTime).toBe(deps.clock());
  });

  it('without the check the same view takes over (the bug)', async () => {
    const { base, key, cluster, holder, advance, renewB } = await setUp();
    for (let i = 0; i < 6; i++) {
      advance(1_000);
      cluster.renewLease(key, 'a', 5);
    }
    await renewB();
    await reconcileLease(base, key);
    expect(await holder()).toBe('b');
  });

  it('takes over when the holder stopped renewing in its cluster too', async () => {
    const { deps, key, holder, advance, renewB } = await setUp();
    advance(6_000);
    await renewB();
    await reconcileLease(deps, key);
    expect(await holder()).toBe('b');
  });

  it('a failover within one cluster reads it once: the successor check takes the holder read as its answer', async () => {
    const { deps, key, holder, advance, renewB } = await setUp();
    const reads: string[] = [];
    const counting: CoordinatorDeps = {
      ...deps,
      readHolderLease: async (name, leaseKey) => {
        reads.push(name);
        return deps.readHolderLease?.(name, leaseKey);
      },
    };
    advance(6_000);
    await renewB();
    await reconcileLease(counting, key);
    expect(await holder()).toBe('b');
    expect(reads).toEqual(['c']);
  });

  it('keeps the holder while its cluster cannot be read (Wait, the default), and looks again', async () => {
    const { deps, key, cluster, holder, advance, cutOff, renewB, store } = await setUp();
    const armed: number[] = [];
    const waiting: CoordinatorDeps = {
      ...deps,
      timers: { deliverAt: async (_k, dueAt) => void armed.push(dueAt) },
    };
    advance(6_000);
    cluster.renewLease(key, 'a', 5);
    await renewB();
    cutOff();
    const before = (await store.loadLease(key)).lease;
    const step = await reconcileLease(waiting, key);

    const after = (await store.loadLease(key)).lease;
    expect(step.action).toBe('none');
    expect(await holder()).toBe('a');
    expect(after?.record.term).toBe(before?.record.term);
    // Held off for a lease duration past the last failed read, and looked at again shortly.
    expect(after?.takeoverNotBefore).toBe(deps.clock() + 5_000 + UNREACHABLE_RETRY_MS);
    expect(armed).toEqual([deps.clock() + UNREACHABLE_RETRY_MS]);
  });

  it('under TakeOver, a lease of one cluster that cannot be read still keeps its holder: nobody there could be told', async () => {
    const { deps, key, cluster, holder, advance, cutOff, renewB } = await setUp();
    advance(6_000);
    cluster.renewLease(key, 'a', 5);
    await renewB();
    cutOff();
    await reconcileLease({ ...deps, holderClusterUnreachable: () => 'TakeOver' }, key);
    expect(await holder()).toBe('a');
  });

  /** "a" goes silent, its cluster goes away when the takeover is due, and is back one retry later. */
  async function outage() {
    const fixture = await setUp();
    const { deps, key, advance, cutOff, reconnect, renewB } = fixture;
    advance(6_000);
    await renewB();
    cutOff();
    await reconcileLease(deps, key);
    advance(UNREACHABLE_RETRY_MS);
    reconnect();
    return fixture;
  }

  it('back from an outage: the holder that renews the Lease naming it keeps the lease', async () => {
    const { deps, key, cluster, holder, renewB } = await outage();
    // client-go finds the returning Lease naming it and renews it at its next retry.
    cluster.renewLease(key, 'a', 5);
    await renewB();
    await reconcileLease(deps, key);
    expect(await holder()).toBe('a');
  });

  it('back from an outage: a holder that stays silent for a lease duration from the answer is taken over', async () => {
    const { deps, key, holder, advance, renewB, store } = await outage();
    await renewB();
    // Readable again: the holder gets one lease duration from this answer, and the flag goes.
    expect((await reconcileLease(deps, key)).action).toBe('none');
    expect(await holder()).toBe('a');
    const waiting = (await store.loadLease(key)).lease;
    expect(waiting?.takeoverNotBefore).toBe(deps.clock() + 5_000);
    expect(waiting?.holderClusterOut).toBeUndefined();
    advance(4_999);
    await renewB();
    expect((await reconcileLease(deps, key)).action).toBe('none');
    expect(await holder()).toBe('a');
    advance(1);
    await renewB();
    await reconcileLease(deps, key);
    expect(await holder()).toBe('b');
  });

  /**
   * Found by e2e fault 2c in CI: the look sent while the holder's apiserver hung was answered when
   * it ran again, with the Lease as it was; the old code took over at once, and the holder's own
   * queued renewal landed right after. Two processes led for 3.2 s.
   */
  it('a late answer from a hung cluster counts as its return: the holder has a lease duration from the answer', async () => {
    const { deps, key, cluster, holder, advance, renewB, store, answerAfter } = await setUp();
    advance(6_000);
    await renewB();
    answerAfter(10_000);
    const step = await reconcileLease(deps, key);
    expect(step.action).toBe('none');
    expect(await holder()).toBe('a');
    expect((await store.loadLease(key)).lease?.takeoverNotBefore).toBe(deps.clock() + 5_000);
    // The holder's renewal, queued in the hung apiserver, lands; it keeps the lease.
    answerAfter(0);
    cluster.renewLease(key, 'a', 5);
    await renewB();
    await reconcileLease(deps, key);
    expect(await holder()).toBe('a');
  });

  it('a takeover decided after a read that took a while starts the new term at the answer', async () => {
    const { deps, key, holder, advance, renewB, store, answerAfter } = await setUp();
    advance(6_000);
    await renewB();
    // Under half a lease duration: an ordinary slow answer, no hold-off.
    answerAfter(2_000);
    const asked = deps.clock();
    expect((await reconcileLease(deps, key)).action).toBe('takeover');
    expect(await holder()).toBe('b');
    // One read (the holder's cluster, which is also the new holder's), answered 2 s later.
    const record = (await store.loadLease(key)).lease?.record;
    expect(record?.renewTime).toBe(asked + 2_000);
    expect(deps.clock()).toBe(asked + 2_000);
  });

  it('a legacy elector that took the expired holder’s Lease is recorded as the holder, and no successor is named beside it', async () => {
    const { deps, base, key, cluster, holder, advance, renewB } = await setUp();
    // "a" stops renewing; once its Lease looks expired, an uncoordinated elector there takes it
    // (client-go's Update keeps our annotations, the current term among them) and leads.
    advance(6_000);
    const lease = cluster.get('Lease', key) ?? {};
    const stamp = new Date(cluster.localNow()).toISOString().replace(/Z$/, '417Z');
    lease.spec = { holderIdentity: 'legacy', leaseDurationSeconds: 15, acquireTime: stamp, renewTime: stamp };
    expect(cluster.replace('Lease', lease, 'legacy')).toMatchObject({ ok: true });
    const before = (await base.store.loadLease(key)).lease?.record;
    await renewB();

    // Ingest has not seen the take; the takeover's read of the holder's Lease finds it.
    await reconcileLease(deps, key);

    expect(await holder()).toBe('legacy');
    expect((await base.store.loadLease(key)).lease?.record).toMatchObject({
      holderCluster: 'c',
      term: (before?.term ?? 0) + 1,
    });
    await mirrorLease(base, key);
    expect((cluster.get('Lease', key)?.spec as { holderIdentity?: string }).holderIdentity).toBe('legacy');
  });

  it('a legacy elector whose take looks expired on its own stamp is recorded as seen at the read, and taken over only after a lease duration of silence', async () => {
    const { deps, base, key, cluster, holder, advance, renewB } = await setUp();
    advance(6_000);
    // Its stamp is 16 s old on our clock when we read it: a write that took that long, or a clock behind ours.
    const lease = cluster.get('Lease', key) ?? {};
    const stamp = new Date(cluster.localNow() - 16_000).toISOString().replace(/Z$/, '417Z');
    lease.spec = { holderIdentity: 'legacy', leaseDurationSeconds: 15, acquireTime: stamp, renewTime: stamp };
    expect(cluster.replace('Lease', lease, 'legacy')).toMatchObject({ ok: true });
    await renewB();
    const readAt = deps.clock();

    await reconcileLease(deps, key);
    expect(await holder()).toBe('legacy');
    expect((await base.store.loadLease(key)).lease?.record.renewTime).toBe(readAt);

    // It never renews: one lease duration after the read, the successor is named over it.
    advance(readAt + 15_001 - deps.clock());
    await renewB();
    await reconcileLease(deps, key);
    expect(await holder()).toBe('b');
  });

  it('a holder whose clock is behind ours: its renewal stamped before our decision is a renewal all the same', async () => {
    // Found by the concurrency model (seed -5996824): the stamps were compared across two clocks.
    const { deps, key, cluster, heartbeat, store, advance } = await electedBehindOurClock();
    const decided = (await store.loadLease(key)).lease?.record.renewTime as number;
    // "a" renews once, 100 ms after the decision on our clock: its stamp is 300 ms before the decision's.
    advance(100);
    expect(cluster.renewLease(key, 'a', 5)).toMatchObject({ ok: true });
    // Ingest records none of it; past the recorded deadline, but inside the renewal's lease duration.
    advance(4_950);
    await heartbeat('b', '1.31.0');
    expect(deps.clock()).toBeGreaterThan(decided + 5_000);
    await reconcileLease(deps, key);
    expect((await store.loadLease(key)).lease?.record.holderIdentity).toBe('a');
  });
  it('a holder whose clock is behind ours by just its wait stamps our instant: its own lease duration tells it apart', async () => {
    // Found by the concurrency model (seed 1984930078): the holder's first renewal, 400 ms after the
    // decision on a clock 400 ms behind, read as the mirror's write of the decision.
    const { deps, key, cluster, heartbeat, store, advance } = await electedBehindOurClock();
    const decided = (await store.loadLease(key)).lease?.record.renewTime as number;
    advance(400);
    expect(cluster.renewLease(key, 'a', 15)).toMatchObject({ ok: true });
    expect((cluster.get('Lease', key)?.spec as { renewTime: string }).renewTime).toBe(
      formatMicroTime(decided),
    );
    advance(5_000);
    await heartbeat('b', '1.31.0');
    await reconcileLease(deps, key);
    expect((await store.loadLease(key)).lease?.record.holderIdentity).toBe('a');
  });

  it('a lagging ingest run does not record our own earlier write as the holder’s renewal (managedFields)', async () => {
    // Found by the concurrency model (seed -1509664777): a lagging ingest run recorded our own write of
    // the decision after the holder's first renewal, and the holder's stamp (its clock behind ours)
    // compared as older than ours: a holder renewed for 15 s was taken over after 5.
    const { deps, base, key, cluster, heartbeat, store, advance } = await electedBehindOurClock();
    const decision = cluster.versions('Lease', key).at(-1) as RawObject;
    advance(100);
    expect(cluster.renewLease(key, 'a', 15)).toMatchObject({ ok: true });
    const renewal = cluster.get('Lease', key) ?? {};
    await ingestLease(base, 'c', renewal);
    expect(await ingestLease(base, 'c', decision)).toMatchObject({ outcome: 'unchanged' });
    const recorded = (await store.loadLease(key)).lease;
    expect(recorded?.observedRenewTime).toBe(
      Date.parse(String((renewal.spec as { renewTime: string }).renewTime)),
    );
    advance(5_100);
    await heartbeat('b', '1.31.0');
    await reconcileLease(deps, key);
    expect((await store.loadLease(key)).lease?.record.holderIdentity).toBe('a');
  });

  it('our write under a newer term than the record’s (a table restored from a backup) is news, not our stamp', async () => {
    // Found by a review: read as our own stamp, the takeover went ahead unfenced (no fence over a
    // newer term), and the holder that decision named could renew beside the successor.
    const { deps, key, cluster, heartbeat, store, advance } = await electedBehindOurClock();
    const restored = (await store.loadLease(key)).lease as StoredLease;
    const lease = cluster.get('Lease', key) as RawObject;
    const annotations = {
      ...lease.metadata?.annotations,
      [TERM_ANNOTATION]: String(restored.record.term + 1),
    };
    // The lost decision, a second later: it named the holder again under a new term and stamp.
    advance(1_000);
    const spec = { ...(lease.spec as Record<string, unknown>), renewTime: formatMicroTime(deps.clock()) };
    const lost = { ...lease, metadata: { ...lease.metadata, annotations }, spec };
    expect(cluster.replace('Lease', lost, 'coordinator')).toMatchObject({ ok: true });
    advance(4_100);
    await heartbeat('b', '1.31.0');
    expect(await confirmTakeover(deps, key, restored, deps.clock())).toMatchObject({ verdict: 'renewed' });
    expect((await store.loadLease(key)).lease?.record.term).toBe(restored.record.term + 1);
  });

  it('the record’s own stamp is the stored one where the step judges the record from an earlier sighting', async () => {
    // Found by a review: a put-back's stamp compared with the judged renewTime read as the holder's renewal.
    const { deps, key, cluster, store, advance } = await electedBehindOurClock();
    const stored = (await store.loadLease(key)).lease as StoredLease;
    const recorded = stored.record.renewTime as number;
    const lease = cluster.get('Lease', key) as RawObject;
    expect((lease.spec as { renewTime: string }).renewTime).toBe(formatMicroTime(recorded));
    advance(3_100);
    const judged: StoredLease = {
      ...stored,
      record: { ...stored.record, renewTime: recorded - 2_000 },
      observedRenewTime: recorded - 2_400,
      storedRenewTime: recorded,
    };
    expect(await confirmTakeover(deps, key, judged, deps.clock())).toMatchObject({ verdict: 'proceed' });
  });

  it('… and so does a part of a millisecond in its stamp (client-go stamps microseconds)', async () => {
    const { deps, key, cluster, heartbeat, store, advance } = await electedBehindOurClock();
    advance(400);
    expect(cluster.renewLease(key, 'a', 5)).toMatchObject({ ok: true });
    const lease = cluster.get('Lease', key) as RawObject;
    const spec = lease.spec as { renewTime: string };
    const renewTime = spec.renewTime.replace(/000Z$/, '417Z');
    cluster.replace('Lease', { ...lease, spec: { ...spec, renewTime } }, 'a');
    advance(5_000);
    await heartbeat('b', '1.31.0');
    await reconcileLease(deps, key);
    expect((await store.loadLease(key)).lease?.record.holderIdentity).toBe('a');
  });

  it('the record’s own stamp, written back on the holder’s Lease, is ours and no renewal, whatever ingest saw', async () => {
    // Found by the concurrency model (seed 977664307): a revoke taken back put the holder back
    // under the record's stamp, which read on the holder's clock counted as a renewal and ended
    // the hold-off set for the holder's last renewal.
    const { deps, base, key, cluster, heartbeat, store, advance } = await electedBehindOurClock();
    advance(1_000);
    expect(cluster.renewLease(key, 'a', 5)).toMatchObject({ ok: true });
    await ingestLease(base, 'c', cluster.get('Lease', key) ?? {});
    const recorded = (await store.loadLease(key)).lease;
    expect(recorded?.observedRenewTime).toBe((recorded?.record.renewTime as number) - 400);
    const lease = cluster.get('Lease', key) as RawObject;
    const renewTime = formatMicroTime(recorded?.record.renewTime as number);
    cluster.replace('Lease', { ...lease, spec: { ...(lease.spec as object), renewTime } }, 'coordinator');
    advance(5_100);
    await heartbeat('b', '1.31.0');
    await reconcileLease(deps, key);
    expect((await store.loadLease(key)).lease?.record.holderIdentity).toBe('b');
  });
});

/**
 * The concurrency model found it (seed -1322655943): a revoke replaced the holder's renewal in the
 * same millisecond, and the successor was named exactly one lease duration after it, an instant at
 * which the holder's lease still counts as live (isLeaseExpired).
 */
describe('a revoke holds the takeover off for one lease duration (unit: in-memory fakes)', () => {
  it('the instant the lease duration after the revoke ends is still held off', async () => {
    const { deps: base, key, heartbeat, store, advance } = singleCluster();
    await heartbeat('a', '1.30.0');
    await reconcileLease(base, key);
    advance(1_000);
    // The holder's last renewal, replaced by our revoke now, is the revoke's stamp.
    const revokedAt = base.clock();
    const deps: CoordinatorDeps = {
      ...base,
      readHolderLease: async (cluster) => ({
        cluster,
        holderIdentity: '',
        revokedAt,
        renewTime: revokedAt,
        leaseDurationSeconds: 5,
        resourceVersion: '7',
      }),
    };
    advance(5_000);
    const stored = (await store.loadLease(key)).lease;

    const check = await confirmTakeover(deps, key, stored, base.clock());

    expect(check).toEqual({ verdict: 'deferred', at: revokedAt + 5_001 });
    expect((await store.loadLease(key)).lease?.takeoverNotBefore).toBe(revokedAt + 5_001);
  });
});
