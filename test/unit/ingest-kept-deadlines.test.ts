import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { reconcileWouldWrite } from '../../lib/coordinator/lease-triage.js';
import { CONFLICT_RETRIES, reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { CANDIDATE_REFRESH_MS, PRE_PING_LEAD_MS, renewalRecordBoundMs } from '../../lib/election/timing.js';
import { ConditionFailedError } from '../../lib/errors.js';
import { handleSweep } from '../../lib/handlers/sweep.js';
import { handleTimerBatch } from '../../lib/handlers/timer.js';
import type { CoordinatorDeps } from '../../lib/ports/coordinator.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import type { TimerCover } from '../../lib/ports/schedule.js';
import { timerMessage } from '../../lib/runtime/sqs-timer-queue.js';
import { HolderHints } from '../../lib/sync/holder-hints.js';
import { holderLeaseReader } from '../../lib/sync/holder-lease-reader.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { COVER_TTL_MS, IngestDeadlines } from '../../lib/sync/ingest-deadlines.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { httpHeartbeat } from '../helpers/http-heartbeat.js';
import { singleCluster } from '../helpers/single-cluster.js';
import { sqsBatch } from '../helpers/sqs-batch.js';

/** A cover that names `clusters` until `until` (as the table would show it), recording what it is given. */
function fakeCover(clusters: readonly string[], until: () => number) {
  const kept: [LeaseKey, string, number][] = [];
  const extended: [readonly string[], number][] = [];
  const cover: TimerCover = {
    coveredClusters: async (now) => new Set(until() > now ? clusters : []),
    extend: async (names, at) => void extended.push([names, at]),
    keep: (key, holder, dueAt) => void kept.push([key, holder, dueAt]),
  };
  return { cover, kept, extended };
}

/**
 * A cover whose `keep` is a class method, as ingest's own memory (IngestDeadlines) is: a caller that
 * takes the method off the object before calling it calls it without its `this`.
 */
class MemoryCover implements TimerCover {
  readonly kept: [LeaseKey, string, number][] = [];
  constructor(private readonly clusters: readonly string[]) {}
  async coveredClusters(): Promise<ReadonlySet<string>> {
    return new Set(this.clusters);
  }
  async extend(): Promise<void> {}
  keep(key: LeaseKey, holder: string, dueAt: number): void {
    this.kept.push([key, holder, dueAt]);
  }
}

/**
 * Ingest keeps held leases' own deadlines (docs/design.md, "Timers kept by ingest"): a step whose
 * only deadline is its live holder's arms no timer where a live cover names the holder's cluster,
 * and the sweep arms it once the cover lapses. Every step is the same reconcile either way.
 */
describe('held leases’ deadlines kept by ingest (unit: in-memory fakes)', () => {
  /** "a" elected (5 s leases) and mirrored, its timer armed for the pre-ping; it renews 1 s later. */
  async function setUp() {
    const fixture = singleCluster();
    const { deps: base, key, cluster, heartbeat, advance, store } = fixture;
    const sent: number[] = [];
    const deps: CoordinatorDeps = {
      ...base,
      readHolderLease: holderLeaseReader(base.clusters),
      timers: { deliverAt: async (_key, dueAt) => void sent.push(dueAt) },
    };
    await heartbeat('a', '1.30.0');
    await reconcileLease(deps, key);
    await mirrorLease(base, key);
    const hints = new HolderHints();
    const renew = async () => {
      advance(1_000);
      expect(cluster.renewLease(key, 'a', 5)).toMatchObject({ ok: true });
      // Every renewal recorded (bound 0): the record is the truth here.
      await ingestLease(base, 'c', cluster.get('Lease', key) ?? {}, { hints, renewalBoundMs: () => 0 });
    };
    await renew();
    const state = () => store.loadLease(key);
    return { ...fixture, deps, sent, renew, state };
  }

  it('a live holder’s deadline is left to a cover of its cluster; the candidates’ is still a timer', async () => {
    const { deps, key, sent, clock, state } = await setUp();
    const pending = (await state()).timerDueAt as number;
    const renewedAt = clock();
    const candidateRenewedAt = (await state()).candidates[0]?.renewTime as number;
    const { cover, kept } = fakeCover(['c'], () => Number.POSITIVE_INFINITY);
    sent.length = 0;

    // The pending timer's delivery: the holder renewed, so nothing is due but the next deadline.
    await reconcileLease({ ...deps, timerCover: cover }, key, { delivering: pending });
    expect(kept).toEqual([[key, 'a', renewedAt + 5_000 - PRE_PING_LEAD_MS]]);
    expect(sent).toEqual([candidateRenewedAt + CANDIDATE_REFRESH_MS + 1]);
    expect((await state()).timerDueAt).toBe(sent[0]);
  });

  it('arms the deadline of a holder heard over HTTP, whose renewals ingest never sees, cover or not', async () => {
    // A cluster read by ingest may also name httpCallers (docs/clusters.md): the holder renews over our API.
    const { deps: base, key, store, advance, clock } = singleCluster();
    const sent: number[] = [];
    const deps: CoordinatorDeps = {
      ...base,
      timers: { deliverAt: async (_key, dueAt) => void sent.push(dueAt) },
    };
    await store.putHeartbeat(key, 'c', httpHeartbeat(key, 'over-http', '1.30.0', clock()), clock());
    await reconcileLease(deps, key);
    const elected = await store.loadLease(key);
    expect(elected.lease?.record).toMatchObject({ holderIdentity: 'over-http', holderCluster: 'c' });
    advance(1_000);
    const renewal = { holderIdentity: 'over-http', expectedHolder: 'over-http', leaseDurationSeconds: 5 };
    const renewed = await store.recordRenewal(key, renewal, clock());
    const { cover, kept } = fakeCover(['c'], () => Number.POSITIVE_INFINITY);
    sent.length = 0;

    await reconcileLease({ ...deps, timerCover: cover }, key, { delivering: elected.timerDueAt as number });
    expect(kept).toEqual([]);
    expect(sent).toContain((renewed.record.renewTime as number) + 5_000 - PRE_PING_LEAD_MS);
  });

  it('arms the holder’s deadline as ever where the cover names another cluster, or has lapsed', async () => {
    const { deps, key, sent, clock, state } = await setUp();
    const pending = (await state()).timerDueAt as number;
    const renewedAt = clock();
    const other = fakeCover(['elsewhere'], () => Number.POSITIVE_INFINITY);
    sent.length = 0;
    await reconcileLease({ ...deps, timerCover: other.cover }, key, { delivering: pending });
    expect(other.kept).toEqual([]);
    expect(sent).toEqual([renewedAt + 5_000 - PRE_PING_LEAD_MS]);

    const lapsed = fakeCover(['c'], () => clock() - 1);
    const dueAt = sent[0] as number;
    sent.length = 0;
    await reconcileLease({ ...deps, timerCover: lapsed.cover }, key, { delivering: dueAt });
    expect(lapsed.kept).toEqual([]);
    expect(sent).toHaveLength(1);
  });

  it('arms the expiry once the pre-ping has passed, cover or not, and ingest’s own step keeps it too', async () => {
    const { deps, key, sent, clock, advance, state } = await setUp();
    const renewedAt = clock();
    const { cover, kept } = fakeCover(['c'], () => Number.POSITIVE_INFINITY);
    advance(5_000 - PRE_PING_LEAD_MS + 500);
    sent.length = 0;
    await reconcileLease({ ...deps, timerCover: cover }, key, {
      delivering: (await state()).timerDueAt as number,
    });
    // A warm ingest takes the expiry on time; the timer stays, for a run that ends first.
    expect(kept).toEqual([[key, 'a', renewedAt + 5_001]]);
    expect(sent).toEqual([renewedAt + 5_001]);
  });

  it('keeps a late holder’s next look in a memory whose keep is a method, as ingest’s is', async () => {
    const { deps, key, sent, clock, advance, state } = await setUp();
    const renewedAt = clock();
    advance(5_000 - PRE_PING_LEAD_MS + 500);
    const memory = new MemoryCover(['c']);
    sent.length = 0;
    await reconcileLease({ ...deps, timerCover: memory }, key, {
      delivering: (await state()).timerDueAt as number,
    });
    expect(memory.kept).toEqual([[key, 'a', renewedAt + 5_001]]);
    expect(sent).toEqual([renewedAt + 5_001]);
  });

  it('keeps a late holder’s next look only where ingest covers the holder’s cluster', async () => {
    const { deps, key, sent, clock, advance, state } = await setUp();
    const renewedAt = clock();
    advance(5_000 - PRE_PING_LEAD_MS + 500);
    const { cover, kept } = fakeCover(['elsewhere'], () => Number.POSITIVE_INFINITY);
    sent.length = 0;
    await reconcileLease({ ...deps, timerCover: cover }, key, {
      delivering: (await state()).timerDueAt as number,
    });
    expect(kept).toEqual([]);
    expect(sent).toEqual([renewedAt + 5_001]);
  });

  /**
   * Ingest kept the holder's last renewal unrecorded and its memory has already taken that lease's
   * steps; the expiry timer's takeover check finds the renewal and records it, and the step that
   * follows finds the new pre-ping ahead. Left to the cover, nobody would hold it: a holder that has
   * died sends no renewal to set ingest's memory again (docs/reliability.md, "Findings behind the code").
   */
  it('a renewal found by a takeover check gets its own timer unless the step is ingest’s own', async () => {
    const { deps, key, sent, cluster, advance, heartbeat, state } = await setUp();
    // The holder renews where ingest records none of it, past the recorded deadline.
    for (let i = 0; i < 6; i++) {
      advance(1_000);
      cluster.renewLease(key, 'a', 5);
    }
    await heartbeat('b', '1.31.0');
    const expiry = (await state()).timerDueAt as number;
    const covering: TimerCover = { coveredClusters: async () => new Set(['c']), extend: async () => {} };
    sent.length = 0;

    await reconcileLease({ ...deps, timerCover: covering }, key, { delivering: expiry });
    const { lease, timerDueAt } = await state();
    expect(lease?.record.holderIdentity).toBe('a');
    const prePing = (lease?.record.renewTime as number) + 5_000 - PRE_PING_LEAD_MS;
    expect(sent).toEqual([prePing]);
    expect(timerDueAt).toBe(prePing);

    // Ingest's own step keeps it in memory instead: no timer.
    advance(1_000);
    cluster.renewLease(key, 'a', 5);
    advance(5_000);
    cluster.renewLease(key, 'a', 5);
    await heartbeat('b', '1.31.0');
    const { cover, kept } = fakeCover(['c'], () => Number.POSITIVE_INFINITY);
    sent.length = 0;
    await reconcileLease({ ...deps, timerCover: cover }, key, { delivering: prePing });
    const renewed = (await state()).lease?.record.renewTime as number;
    expect(renewed).toBeGreaterThan(prePing);
    expect(kept).toEqual([[key, 'a', renewed + 5_000 - PRE_PING_LEAD_MS]]);
    expect(sent.filter((at) => at <= renewed + 5_000)).toEqual([]);
  });

  /**
   * The same renewal, found only after other deciders won the takeover's compare-and-set first (once,
   * or on every attempt but the last the step has); the holder renewed meanwhile, then died. Each lost
   * attempt armed the takeover's timer beside its write, and that timer comes before the holder's new
   * pre-ping. Every look that comes (the timer message's, then each timer's) is followed until that
   * pre-ping: one of them must be at it, or nobody looks before the minute sweep.
   */
  it.each([1, CONFLICT_RETRIES])(
    'a renewal found after %i lost compare-and-sets still gets a look at its pre-ping',
    async (losses) => {
      const { deps, key, sent, cluster, advance, clock, heartbeat, state, table } = await setUp();
      advance(6_000);
      await heartbeat('b', '1.31.0');
      const covering: TimerCover = { coveredClusters: async () => new Set(['c']), extend: async () => {} };
      let lost = 0;
      const losing = table.store(async (request) => {
        if (request !== 'writeLease' || lost >= losses) return;
        lost += 1;
        // Each attempt reads the holder's cluster first; the holder renews there before the last one.
        advance(100);
        if (lost === losses) cluster.renewLease(key, 'a', 5);
        throw new ConditionFailedError('version', undefined, 'another decider wrote first');
      });
      const requeue: CoordinatorDeps = { ...deps, store: losing, timerCover: covering };
      const expiry = (await state()).timerDueAt as number;
      sent.length = 0;

      const failed = await handleTimerBatch(requeue, sqsBatch([JSON.stringify(timerMessage(key, expiry))]));
      expect(lost).toBe(losses);
      expect(failed.batchItemFailures).toEqual([]);
      const { lease } = await state();
      expect(lease?.record.holderIdentity).toBe('a');
      const prePing = (lease?.record.renewTime as number) + 5_000 - PRE_PING_LEAD_MS;
      const looked: number[] = [];
      for (let due = Math.min(...sent); due <= prePing; due = Math.min(...sent.filter((at) => at > due))) {
        advance(due - clock());
        looked.push(due);
        await handleTimerBatch(requeue, sqsBatch([JSON.stringify(timerMessage(key, due))]));
      }
      expect(looked).toContain(prePing);
    },
  );

  it('the sweep passes over a covered lease, arms its timer once the cover lapses, and takes a due step', async () => {
    const { deps, key, sent, clock, advance, state, renew } = await setUp();
    let coverUntil = clock() + COVER_TTL_MS;
    const { cover } = fakeCover(['c'], () => coverUntil);
    const covered = { ...deps, timerCover: cover };
    await reconcileLease(covered, key, { delivering: (await state()).timerDueAt as number });
    expect(reconcileWouldWrite(await state(), clock(), true, new Set(['c']))).toBe(false);
    expect(reconcileWouldWrite(await state(), clock(), true)).toBe(true);
    sent.length = 0;
    await handleSweep(covered);
    expect(sent).toEqual([]);

    // Ingest dies: its cover is not extended. Once it lapses, the sweep arms the holder's timer.
    await renew();
    coverUntil = clock();
    advance(1);
    await handleSweep(covered);
    expect(sent).toEqual([clock() - 1 + 5_000 - PRE_PING_LEAD_MS]);

    // And a step that has come due is taken whatever the cover says (here: the pre-ping).
    coverUntil = Number.POSITIVE_INFINITY;
    advance(5_000);
    expect(reconcileWouldWrite(await state(), clock(), true, new Set(['c']))).toBe(true);
  });
});

describe('ingest’s memory of held leases’ deadlines (unit: fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2026, 6, 1, 12) });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const key: LeaseKey = { scope: 'c', namespace: 'kube-system', name: 'solo' };
  const other: LeaseKey = { scope: 'c', namespace: 'kube-system', name: 'other' };
  const lease = (holder: string) => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { namespace: 'kube-system', name: 'solo', resourceVersion: '1' },
    spec: { holderIdentity: holder, leaseDurationSeconds: 15, renewTime: new Date().toISOString() },
  });

  function setUp(step: (key: LeaseKey) => Promise<unknown> = async () => {}) {
    const { cover, extended } = fakeCover([], () => 0);
    const steps: LeaseKey[] = [];
    const logger = { warn: () => {} } as unknown as CoordinatorDeps['logger'];
    const deadlines = new IngestDeadlines({ clock: Date.now, logger }, cover, async (k) => {
      steps.push(k);
      await step(k);
    });
    deadlines.start();
    return { deadlines, steps, extended };
  }

  it('covers a cluster once its list is stored, for COVER_TTL_MS, extended while it runs', async () => {
    const { deadlines, extended } = setUp();
    expect(await deadlines.coveredClusters(Date.now())).toEqual(new Set());
    deadlines.clusterSynced('c', true);
    await vi.advanceTimersByTimeAsync(0);
    expect(extended).toEqual([[['c'], Date.now() + COVER_TTL_MS]]);
    expect(await deadlines.coveredClusters(Date.now())).toEqual(new Set(['c']));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(extended.at(-1)).toEqual([['c'], Date.now() + COVER_TTL_MS]);
    // A watch that ends takes its cluster out of the cover until it is listed again.
    deadlines.clusterSynced('c', false);
    expect(await deadlines.coveredClusters(Date.now())).toEqual(new Set());
    await deadlines.stop();
  });

  it('takes the step a bound before the last renewal’s pre-ping, and at once for a lease first seen without one', async () => {
    const { deadlines, steps } = setUp();
    deadlines.leaseEvent(key, lease('a'), 'renewed');
    deadlines.leaseEvent(other, lease('b'), 'seen');
    await vi.advanceTimersByTimeAsync(0);
    expect(steps).toEqual([other]);

    // Renewals every 2 s move the deadline on: no step while the holder renews.
    for (let i = 0; i < 10; i++) {
      await vi.advanceTimersByTimeAsync(2_000);
      deadlines.leaseEvent(key, lease('a'), 'renewed');
    }
    expect(steps).toEqual([other]);
    // A bound (5 s of 15 s) before this renewal's pre-ping: the record may lag by that much, and
    // the step pings at the record's pre-ping, as a timer would (a step that finds it ahead keeps it).
    const look = 15_000 - PRE_PING_LEAD_MS - renewalRecordBoundMs(15);
    expect(deadlines.dueAt(key)).toBe(Date.now() + look);

    // The holder stops: the step comes 8 s after the last renewal seen.
    await vi.advanceTimersByTimeAsync(look - 1);
    expect(steps).toEqual([other]);
    await vi.advanceTimersByTimeAsync(1);
    expect(steps).toEqual([other, key]);
    await deadlines.stop();
  });

  it('waits out a deadline further off than a Node timer can wait (24.8 days), not stepping at once', async () => {
    const { deadlines, steps } = setUp();
    // About the look a renewal of leaseDurationSeconds 3,888,000 (45 days, which the apiserver takes)
    // keeps: two thirds of it, less the pre-ping lead.
    const dueAt = Date.now() + 30 * 86_400_000;
    deadlines.keep(key, 'a', dueAt);
    await vi.advanceTimersByTimeAsync(29 * 86_400_000);
    expect(steps).toEqual([]);
    expect(deadlines.dueAt(key)).toBe(dueAt);
    await vi.advanceTimersByTimeAsync(86_400_000);
    expect(steps).toEqual([key]);
    await deadlines.stop();
    // Fake time runs 30 days of the cover's refresh interval: CPU-bound, seconds on a busy machine.
  }, 60_000);

  it('starts a lease its run’s scan read held from its record, not with a look at once', async () => {
    const { deadlines, steps } = setUp();
    const scan = { resolve: () => {} };
    deadlines.scanning(
      new Promise<void>((resolve) => {
        scan.resolve = resolve;
      }),
    );
    // The list shows both Leases before the scan has read the table: no look yet.
    deadlines.leaseEvent(key, lease('a'), 'seen');
    deadlines.leaseEvent(other, lease('b'), 'seen');
    const renewedAt = Date.now() - 4_000;
    const record = {
      holderIdentity: 'a',
      holderCluster: 'c',
      leaseDurationSeconds: 15,
      renewTime: renewedAt,
      term: 1,
    };
    deadlines.fromRecord(key, { lease: { record, version: 3 }, candidates: [] });
    scan.resolve();
    await vi.advanceTimersByTimeAsync(0);
    // The lease the scan did not show held is looked at once; the held one at its record's pre-ping.
    expect(steps).toEqual([other]);
    expect(deadlines.dueAt(key)).toBe(renewedAt + 15_000 - PRE_PING_LEAD_MS);
    await vi.advanceTimersByTimeAsync(renewedAt + 15_000 - PRE_PING_LEAD_MS - Date.now());
    expect(steps).toEqual([other, key]);
    await deadlines.stop();
  });

  it('keeps what a step leaves to it, takes a failed step again, and takes none once stopped', async () => {
    let failures = 1;
    const { deadlines, steps } = setUp(async () => {
      if (failures-- > 0) throw new Error('table out');
    });
    deadlines.keep(key, 'a', Date.now() + 1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(steps).toEqual([key]);
    // The step failed: it is taken again 2 s later.
    await vi.advanceTimersByTimeAsync(2_000);
    expect(steps).toEqual([key, key]);

    deadlines.keep(key, 'a', Date.now() + 1_000);
    await deadlines.stop();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(steps).toEqual([key, key]);
    expect(await deadlines.coveredClusters(Date.now())).toEqual(new Set());
  });

  it('takes what follows a step (a quiet holder’s read) off the queue, after the step, and waits for it to stop', async () => {
    const { cover } = fakeCover([], () => 0);
    const logger = { warn: () => {} } as unknown as CoordinatorDeps['logger'];
    const taken: string[] = [];
    let answer: () => void = () => {};
    const hanging = new Promise<void>((resolve) => {
      answer = resolve;
    });
    const deadlines = new IngestDeadlines(
      { clock: Date.now, logger },
      cover,
      async (k) => void taken.push(`step ${k.name}`),
      Number.POSITIVE_INFINITY,
      async (k) => {
        taken.push(`after ${k.name}`);
        // The holder's cluster does not answer (yet).
        if (k.name === 'solo') await hanging;
      },
    );
    deadlines.keep(key, 'a', Date.now() + 1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(taken).toEqual(['step solo', 'after solo']);
    // Another lease's step is not held up by the read that waits.
    deadlines.keep(other, 'b', Date.now() + 1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(taken).toEqual(['step solo', 'after solo', 'step other', 'after other']);
    let stopped = false;
    const stopping = deadlines.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    answer();
    await stopping;
    expect(stopped).toBe(true);
  });
});
