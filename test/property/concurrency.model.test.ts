import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBRecord, SQSEvent } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LeaseCandidateObject } from '../../lib/api/leasecandidate.js';
import { recordQuietHolderRenewal } from '../../lib/coordinator/quiet-holder.js';
import { CANDIDATE_VALID_MS } from '../../lib/election/timing.js';
import type { Millis } from '../../lib/election/types.js';
import { ConflictError, StaleHeartbeatError } from '../../lib/errors.js';
import { handleStreamBatch } from '../../lib/handlers/elect.js';
import { handleMirrorBatch } from '../../lib/handlers/mirror.js';
import { handleSweep } from '../../lib/handlers/sweep.js';
import { handleTimerBatch } from '../../lib/handlers/timer.js';
import { anyCaller } from '../../lib/http/callers.js';
import { type FilterPattern, matchesAny } from '../../lib/local/event-filter.js';
import type { RawObject } from '../../lib/ports/cluster.js';
import type { Preemption } from '../../lib/ports/coordinator.js';
import type { LeaseKey, LeaseResolver } from '../../lib/ports/lease-key.js';
import type { TimerQueue } from '../../lib/ports/schedule.js';
import type { LeaseState } from '../../lib/ports/store.js';
import { decideAndMirror, type KnownChange, type RecordedRelease } from '../../lib/sync/decide-now.js';
import { collectExpiredCandidates } from '../../lib/sync/gc.js';
import { HolderHints } from '../../lib/sync/holder-hints.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { ingestCandidate } from '../../lib/sync/ingest-candidate.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { NewCandidateReads } from '../../lib/sync/new-candidate-reads.js';
import { takeOverOnRelease } from '../../lib/sync/release-takeover.js';
import { FirstSightings } from '../../lib/sync/renewal-sightings.js';
import { wireCoordinator } from '../../lib/wiring/coordinator.js';
import { checkHeartbeatsKept, checkSingleHolder, checkTermsGrow } from '../helpers/history-invariants.js';
import { InMemoryCluster } from '../helpers/in-memory-cluster.js';
import { InMemoryTable, nextOrdinal, type RequestGate } from '../helpers/in-memory-store.js';

/**
 * Several coordinators race over one in-memory table (DynamoDB's conditional semantics) and
 * two or three in-memory clusters (resourceVersion semantics, clocks up to 2 s apart). The
 * fast-check scheduler interleaves every request of every invocation; any invocation may crash
 * between two of its requests; stream records and watch events arrive duplicated and out of
 * order. Ingest keeps renewals within a bound drawn per run (none, its own, most of a lease
 * duration, or unbounded as a run that has handed over; docs/design.md, "Renewals kept by ingest"),
 * and may die between a holder's renewal
 * and its record. A live holder is asked to yield through preferredHolder or, drawn per run, by
 * revoke (docs/clusters.md). In some runs ingest offers each release it sees to be taken over in the
 * same write (lib/sync/release-takeover.ts). In some runs ingest also keeps held leases' deadlines under a timer cover that
 * comes and goes (docs/design.md, "Timers kept by ingest"): the deciders then arm no timer for a
 * live holder's own deadline, and ingest's steps from memory come at any time, or never. The
 * invariants are checked on the recorded history of the table and the clusters.
 */

const FILTERS = JSON.parse(
  readFileSync(new URL('../../infra/stream-filters.json', import.meta.url), 'utf8'),
) as {
  elect: FilterPattern[];
  mirror: FilterPattern[];
};

const T0 = Date.UTC(2026, 6, 1, 12, 0, 0);
const CLUSTERS = ['a', 'b', 'c'] as const;
type ClusterName = (typeof CLUSTERS)[number];

const GROUP: LeaseKey = { scope: 'a+b', namespace: 'default', name: 'demo' };
const SOLO: LeaseKey = { scope: 'c', namespace: 'kube-system', name: 'solo' };
const LEASES = [GROUP, SOLO] as const;

const resolve: LeaseResolver = (cluster, namespace, name) =>
  namespace === GROUP.namespace && name === GROUP.name && (cluster === 'a' || cluster === 'b')
    ? GROUP
    : { scope: cluster, namespace, name };

interface ModelCandidate {
  readonly name: string;
  readonly cluster: ClusterName;
  readonly lease: LeaseKey;
  readonly emulationVersion: string;
  /**
   * Pushes heartbeats over HTTP instead of writing a LeaseCandidate in its cluster, and holds the
   * lease the same way: it renews and releases through our API (the `leases` routes), never on the
   * Lease in its cluster. A cluster candidate is a client-go elector, which holds on that Lease
   * only. No process does both: one that released over HTTP and renewed the Lease in its cluster
   * after would be a holder that let go and still led, which the lag check rightly flags but no
   * coordinator can prevent (docs/reliability.md, "Model-based concurrency test").
   */
  readonly http: boolean;
}

/** Whether the candidate holds the lease through this way in: over HTTP, or on its cluster's Lease. */
const holdsOver = (c: ModelCandidate, http: boolean) => c.http === http;

const CANDIDATES: readonly ModelCandidate[] = [
  { name: 'demo-a1', cluster: 'a', lease: GROUP, emulationVersion: '1.31.0', http: false },
  { name: 'demo-a2', cluster: 'a', lease: GROUP, emulationVersion: '1.30.0', http: false },
  { name: 'demo-b1', cluster: 'b', lease: GROUP, emulationVersion: '1.30.0', http: false },
  { name: 'solo-1', cluster: 'c', lease: SOLO, emulationVersion: '1.31.0', http: false },
  { name: 'solo-2', cluster: 'c', lease: SOLO, emulationVersion: '1.31.0', http: true },
];

class CrashError extends Error {}

/** Crash before the request with this index (0-based), or never. */
const crashArb = fc.option(fc.nat({ max: 8 }), { nil: undefined, freq: 2 });
const candidateArb = fc.nat({ max: CANDIDATES.length - 1 });
const leaseArb = fc.nat({ max: LEASES.length - 1 });
/** Watch events from overlapping ingest runs: the newest version, or one a little older. */
const backArb = fc.nat({ max: 3 });
/** Which of two overlapping ingest runs (each its own hints and first sightings) sees an event or takes a step. */
const runArb = fc.nat({ max: 1 });
/**
 * The lease duration the client-go holders renew with, drawn per run (a process's configuration):
 * ours (the record's default until a renewal is recorded), or client-go's default, longer than the
 * record shows until ingest records it.
 */
const holderSecondsArb = fc.constantFrom(5, 15);
/**
 * How long a holder's renewal took between client-go stamping its renewTime and the apiserver
 * committing it: most are quick, some are slow writes that client-go still counts (its Update runs
 * under the renew deadline, 3 s here). The holder leads from the write's answer, not its stamp.
 */
const writeMsArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2_900 }) },
);
const picksArb = fc.array(fc.nat({ max: 40 }), { minLength: 1, maxLength: 4 });
const tickArb = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 0, max: 3_000 }) },
  { weight: 2, arbitrary: fc.constantFrom(4_999, 5_000, 5_001, 7_001) },
  { weight: 1, arbitrary: fc.constant(CANDIDATE_VALID_MS + 1_000) },
);

const actionArb = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({ t: fc.constant('heartbeat' as const), who: candidateArb, crashAt: crashArb }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('ingestCandidate' as const),
      who: candidateArb,
      back: backArb,
      crashAt: crashArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('ingestLease' as const),
      who: candidateArb,
      back: backArb,
      run: runArb,
      crashAt: crashArb,
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('renewInCluster' as const),
      who: candidateArb,
      run: runArb,
      writeMs: writeMsArb,
      crashAt: crashArb,
    }),
  },
  {
    // A holder renewing at its retry period, each renewal ingested: what ingest keeps unrecorded.
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('renewStreak' as const),
      who: candidateArb,
      run: runArb,
      renewals: fc.integer({ min: 2, max: 5 }),
      everyMs: fc.integer({ min: 200, max: 2_000 }),
      writeMs: writeMsArb,
    }),
  },
  {
    // The holder renews and ingest dies before it records (or even sees) the renewal.
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('renewUnrecorded' as const),
      who: candidateArb,
      writeMs: writeMsArb,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('releaseInCluster' as const),
      who: candidateArb,
      crashAt: crashArb,
    }),
  },
  {
    // Ingest's fast path on a release it recorded or a new candidate it stored (with the lease as read
    // beside the candidate's write), possibly long after: any such change, again.
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('fastPath' as const),
      pick: fc.nat(),
      run: runArb,
      crashAt: crashArb,
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('httpRenew' as const), who: candidateArb }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('httpRelease' as const), who: candidateArb }) },
  {
    weight: 5,
    arbitrary: fc.record({ t: fc.constant('elect' as const), picks: picksArb, crashAt: crashArb }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ t: fc.constant('mirror' as const), picks: picksArb, crashAt: crashArb }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('requeue' as const), lease: leaseArb, crashAt: crashArb }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('sweep' as const), crashAt: crashArb }) },
  {
    // A step ingest takes from its memory of a held lease's deadline: early, late, twice, or never.
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('keptStep' as const),
      lease: leaseArb,
      run: runArb,
      crashAt: crashArb,
    }),
  },
  // An ingest run ends and a new one starts in its place: no hints, no sightings; its list comes next.
  { weight: 1, arbitrary: fc.record({ t: fc.constant('newRun' as const), run: runArb }) },
  // Ingest's cover lapses (it died, or a run ended with none after it) or a new run covers again.
  { weight: 1, arbitrary: fc.record({ t: fc.constant('cover' as const), live: fc.boolean() }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('tick' as const), ms: tickArb }) },
);
type Action = typeof actionArb extends fc.Arbitrary<infer A> ? A : never;

/**
 * Every candidate heartbeats (its first, a new LeaseCandidate), and elect and ingest's fast path race
 * to decide: most runs start with holders in place.
 */
const WARM_UP: readonly Action[] = [
  ...CANDIDATES.map((_, who) => ({ t: 'heartbeat' as const, who, crashAt: undefined })),
  ...[0, 1, 2, 3].map(() => ({ t: 'elect' as const, picks: [0, 1, 2, 3, 4, 5], crashAt: undefined })),
  ...[0, 1, 2].map((pick) => ({ t: 'fastPath' as const, pick, run: 0, crashAt: undefined })),
];

const offsetArb = fc.integer({ min: -2_000, max: 2_000 });

/**
 * How far ingest lets a recorded deadline lag before it records a renewal: every renewal recorded,
 * its own bound (a third of the 5 s leases), most of a lease duration, or no bound at all (a run
 * that has handed the holders' renewals over to the next run).
 */
const boundArb = fc.constantFrom<number | undefined>(0, undefined, 3_000, 4_900, Number.POSITIVE_INFINITY);

/** How a live holder is asked to yield: preferredHolder (the clusters keep it), or by revoke. */
const preemptionArb = fc.constantFrom<Preemption>('Auto', 'Revoke');

/** Errors the handlers logged instead of throwing: anything but an injected crash is a finding. */
function unexpectedErrors(): { logger: Logger; errors: unknown[] } {
  const logger = new Logger({ serviceName: 'model', logLevel: 'SILENT' });
  const errors: unknown[] = [];
  const collect = (_message: unknown, ...extra: unknown[]) => {
    for (const item of extra) {
      const error = (item as { error?: unknown } | undefined)?.error;
      if (error !== undefined && !(error instanceof CrashError)) errors.push(error);
    }
  };
  logger.error = collect as Logger['error'];
  logger.warn = collect as Logger['warn'];
  return { logger, errors };
}

function candidateObject(c: ModelCandidate, renewTime: Millis): LeaseCandidateObject & { renewTime: Millis } {
  return {
    apiVersion: 'v1beta1',
    name: c.name,
    namespace: c.lease.namespace,
    leaseName: c.lease.name,
    binaryVersion: '1.31.0',
    emulationVersion: c.emulationVersion,
    strategy: 'OldestEmulationVersion',
    renewTime,
  };
}

async function runModel(
  s: fc.Scheduler,
  offsets: readonly number[],
  rounds: readonly (readonly Action[])[],
  boundMs?: number,
  preemption: Preemption = 'Auto',
  /** Whether ingest keeps held leases' deadlines under a cover in this run (live at first). */
  keepsDeadlines = false,
  /** Whether ingest offers each release to be taken over in the same write (release-takeover.ts). */
  takesOverReleases = false,
  /** The lease duration client-go holders write with their renewals. */
  holderSeconds = 5,
) {
  let now = T0;
  let coverLive = keepsDeadlines;
  // `keep` hands a deadline to ingest's memory; the 'keptStep' action stands for every step taken
  // from it (early, late, twice, or never), so the model need not hold what was kept. With it, a step
  // that recorded a holder's renewal may leave that holder's deadline to the cover (lease-timer.ts).
  const timerCover = {
    coveredClusters: async () => new Set<string>(coverLive ? CLUSTERS : []),
    extend: async () => {},
    keep: () => {},
  };
  const clock = () => now;
  const table = new InMemoryTable(clock);
  const clusters = new Map(
    CLUSTERS.map((name, i) => [name, new InMemoryCluster(name, offsets[i] ?? 0, clock)]),
  );
  const clusterOf = (name: string) => clusters.get(name as ClusterName) as InMemoryCluster;
  // Each run's ingest keeps its holder hints (per cluster) and first sightings across crashes here:
  // a stale hint is the harder case.
  const hints = new Map<string, HolderHints>();
  const hintsOf = (run: number, name: string) =>
    hints.get(`${run}/${name}`) ?? hints.set(`${run}/${name}`, new HolderHints()).get(`${run}/${name}`);
  const sightings = new Map<number, FirstSightings>();
  const sightingsOf = (run: number) =>
    sightings.get(run) ?? (sightings.set(run, new FirstSightings()).get(run) as FirstSightings);
  const newRun = (run: number) => {
    sightings.delete(run);
    for (const name of CLUSTERS) hints.delete(`${run}/${name}`);
  };
  const { logger, errors } = unexpectedErrors();
  const timers: { key: LeaseKey; dueAt: Millis }[] = [];
  const timerQueue: TimerQueue = {
    deliverAt: async (key, dueAt) => {
      timers.push({ key, dueAt });
    },
  };

  /**
   * Every holder's renewal of its Lease in its cluster: when it was made (our clock), and its place
   * among all requests. The table may show it, or not: kept by ingest, or made while ingest was dead.
   */
  const renewals: { key: LeaseKey; holder: string; renewedAt: Millis; durationMs: Millis; seen: number }[] =
    [];
  const noteRenewal = (c: ModelCandidate) =>
    renewals.push({
      key: c.lease,
      holder: c.name,
      renewedAt: now,
      durationMs: holderSeconds * 1000,
      seen: nextOrdinal(),
    });
  /** A renewal stamped now and committed `writeMs` later: the model's clock moves on by as much. */
  const renewSlowly = (cluster: InMemoryCluster, c: ModelCandidate, writeMs: number) => {
    now += writeMs;
    return cluster.renewLease(c.lease, c.name, holderSeconds, writeMs);
  };
  const lagViolations: string[] = [];
  /**
   * No successor is named within a lease duration of a renewal the holder made before the
   * decision's write, unless the holder let go since (a release of its own). Neither a record that
   * lags because ingest kept a renewal or died before recording it, nor a revoke (which only we
   * write, over the holder's last renewal), nor a renewal made after the takeover's read of the
   * holder's Lease (client-go renews a Lease that names it at any time, however long expired on
   * our clock) may name it earlier: client-go's holder leads until its last renewal + RetryPeriod
   * + RenewDeadline.
   */
  const checkTakeover = (key: LeaseKey, replaced: string, writeMark: number, at: Millis) => {
    const home = key.scope.split('+');
    for (const k of renewals) {
      if (
        k.key.scope !== key.scope ||
        k.key.name !== key.name ||
        k.holder !== replaced ||
        k.seen >= writeMark ||
        at > k.renewedAt + k.durationMs
      )
        continue;
      const letGo = home.some((name) =>
        clusterOf(name).history.some(
          (w) =>
            w.kind === 'Lease' &&
            w.name === key.name &&
            w.ordinal > k.seen &&
            w.by === replaced &&
            (w.object?.spec as { holderIdentity?: string } | undefined)?.holderIdentity !== replaced,
        ),
      );
      if (!letGo)
        lagViolations.push(`${key.name}: ${replaced} renewed at ${k.renewedAt} and was replaced at ${at}`);
    }
  };
  /** The store of one invocation, with each takeover it writes checked against the holder's renewals. */
  const checkedStore = (gate: RequestGate) => {
    const store = table.store(gate);
    const write = store.writeLease.bind(store);
    store.writeLease = async (key, record, expectedVersion, now) => {
      // Read past the gate: the check adds no request, scheduling point or crash to the invocation.
      const before = expectedVersion === undefined ? undefined : await table.store().loadLease(key);
      await write(key, record, expectedVersion, now);
      const writeMark = nextOrdinal();
      const replaced =
        before?.lease?.version === expectedVersion ? before?.lease?.record.holderIdentity : undefined;
      if (replaced && record.holderIdentity && replaced !== record.holderIdentity)
        checkTakeover(key, replaced, writeMark, clock());
    };
    return store;
  };

  /**
   * One invocation's view of the world: every request is a scheduling point, and maybe its last. An
   * ingest run's (`run`) steps and mirror passes judge holders from that run's first sightings.
   */
  const invocation = (label: string, crashAt: number | undefined, run?: number) => {
    let requests = 0;
    let crashed = false;
    const gate: RequestGate = async (request) => {
      await s.schedule(Promise.resolve(), `${label} ${request}`);
      if (crashed || requests++ === crashAt) {
        crashed = true;
        throw new CrashError(`${label} crashed before ${request}`);
      }
    };
    // The one wiring every runtime uses, over the crashing, interleaved gate: takeovers read the
    // holder's own Lease first through it too.
    const deps = wireCoordinator({
      store: checkedStore(gate),
      timers: timerQueue,
      clock,
      logger,
      policies: { leases: resolve, callers: anyCaller, preemption: () => preemption },
      ...(keepsDeadlines && { timerCover }),
      clients: {
        get: async (name) => clusterOf(name).port(gate),
        names: () => [...CLUSTERS],
        httpOnly: () => false,
      },
    });
    const wiring = deps.clusterWiring;
    if (wiring === undefined) throw new Error('the model registers clusters: it must have a cluster wiring');
    if (run === undefined) return { deps, mirrorDeps: wiring, ingestDeps: wiring };
    const renewalSightings = sightingsOf(run);
    const mirrorDeps = { ...wiring, renewalSightings };
    return { deps: { ...deps, renewalSightings }, mirrorDeps, ingestDeps: mirrorDeps };
  };
  /**
   * Releases ingest recorded and new candidates it stored, as handed to its fast path, kept so that
   * any may be decided on late.
   */
  const changes: { key: LeaseKey; change: RecordedRelease | KnownChange }[] = [];
  const ingestLeaseEvent = async (cluster: string, raw: RawObject, crashAt: number | undefined, run = 0) => {
    const { deps, mirrorDeps, ingestDeps } = invocation(`ingest ${run} ${cluster}`, crashAt, run);
    try {
      const { key, released } = await ingestLease(ingestDeps, cluster, raw, {
        hints: hintsOf(run, cluster),
        sightings: sightingsOf(run),
        ...(boundMs !== undefined && { renewalBoundMs: () => boundMs }),
        ...(takesOverReleases && {
          takeOverRelease: (key: LeaseKey, unrecorded: LeaseState) =>
            takeOverOnRelease(deps, mirrorDeps, key, { unrecorded, cluster, lease: raw }),
        }),
      });
      if (key !== undefined && released !== undefined)
        changes.push({
          key,
          change: { known: { state: released, answered: [cluster] }, cluster, lease: raw },
        });
    } catch (error) {
      if (!(error instanceof CrashError)) throw error;
    }
  };
  /** A LeaseCandidate event; a watch's ADDED one reads the lease beside its write, as ingest does. */
  const ingestCandidateEvent = async (
    cluster: ClusterName,
    phase: 'ADDED' | 'MODIFIED',
    raw: RawObject,
    watched: boolean,
    crashAt: number | undefined,
  ) => {
    const { ingestDeps } = invocation(`ingest ${cluster}`, crashAt);
    const reads = watched && phase === 'ADDED' ? new NewCandidateReads(ingestDeps) : undefined;
    try {
      const { outcome, key, stored } = await ingestCandidate(
        ingestDeps,
        cluster,
        phase,
        raw,
        watched,
        reads?.start,
      );
      const change = await reads?.known(cluster, stored);
      if (outcome === 'stored' && key !== undefined && change !== undefined) changes.push({ key, change });
    } catch (error) {
      if (!(error instanceof CrashError)) throw error;
    }
  };
  const streamEvent = (filters: FilterPattern[], picks: readonly number[]) => {
    const wakes = table.stream.filter((record) => matchesAny(filters, record));
    // Picks count back from the newest record: any record may come again, in any order.
    const records = picks.flatMap((pick) =>
      wakes.length === 0 ? [] : [wakes[wakes.length - 1 - (pick % wakes.length)] as DynamoDBRecord],
    );
    return { Records: records };
  };

  const run = async (action: Action, index: number): Promise<void> => {
    await s.schedule(Promise.resolve(), `#${index} ${action.t}`);
    switch (action.t) {
      case 'tick':
        now += action.ms;
        return;
      case 'heartbeat': {
        const c = CANDIDATES[action.who] as ModelCandidate;
        const cluster = clusterOf(c.cluster);
        if (!c.http) {
          // The watch delivers the new version at once; older ones come later as 'ingestCandidate'.
          const ref = { namespace: c.lease.namespace, name: c.name };
          const created = cluster.get('LeaseCandidate', ref) === undefined;
          const written = cluster.heartbeat(candidateObject(c, 0));
          const raw = cluster.get('LeaseCandidate', ref);
          if (!written.ok || raw === undefined) return;
          await ingestCandidateEvent(c.cluster, created ? 'ADDED' : 'MODIFIED', raw, created, action.crashAt);
          return;
        }
        try {
          await table
            .store()
            .putHeartbeat(c.lease, c.cluster, candidateObject(c, cluster.localNow()), clock());
        } catch (error) {
          if (!(error instanceof StaleHeartbeatError)) throw error;
        }
        return;
      }
      case 'ingestCandidate': {
        const c = CANDIDATES[action.who] as ModelCandidate;
        const versions = clusterOf(c.cluster).versions('LeaseCandidate', {
          namespace: c.lease.namespace,
          name: c.name,
        });
        const at = versions.length - 1 - Math.min(action.back, versions.length - 1);
        const raw = versions[at];
        if (raw === undefined) return;
        // The object's first version comes as a watch's ADDED event (stored create-first), at any time.
        await ingestCandidateEvent(c.cluster, at === 0 ? 'ADDED' : 'MODIFIED', raw, true, action.crashAt);
        return;
      }
      case 'ingestLease': {
        const c = CANDIDATES[action.who] as ModelCandidate;
        const versions = clusterOf(c.cluster).versions('Lease', c.lease);
        const raw = versions[versions.length - 1 - Math.min(action.back, versions.length - 1)];
        if (raw === undefined) return;
        await ingestLeaseEvent(c.cluster, raw, action.crashAt, action.run);
        return;
      }
      case 'renewInCluster':
      case 'releaseInCluster': {
        const c = CANDIDATES[action.who] as ModelCandidate;
        if (!holdsOver(c, false)) return;
        const cluster = clusterOf(c.cluster);
        // A renewal is a write after the one naming the holder: never stamped at the same instant.
        now += 1;
        const written =
          action.t === 'renewInCluster'
            ? renewSlowly(cluster, c, action.writeMs)
            : cluster.releaseLease(c.lease, c.name);
        const raw = cluster.get('Lease', c.lease);
        if (written === 'not-holder' || !written.ok || raw === undefined) return;
        if (action.t === 'renewInCluster') noteRenewal(c);
        await ingestLeaseEvent(
          c.cluster,
          raw,
          action.crashAt,
          action.t === 'renewInCluster' ? action.run : 0,
        );
        return;
      }
      case 'renewStreak': {
        const c = CANDIDATES[action.who] as ModelCandidate;
        if (!holdsOver(c, false)) return;
        const cluster = clusterOf(c.cluster);
        for (let i = 0; i < action.renewals; i++) {
          now += action.everyMs;
          // The streak's last renewal is the slow one, as when the apiserver starts to struggle.
          const written = renewSlowly(cluster, c, i === action.renewals - 1 ? action.writeMs : 0);
          const raw = cluster.get('Lease', c.lease);
          if (written === 'not-holder' || !written.ok || raw === undefined) return;
          noteRenewal(c);
          await ingestLeaseEvent(c.cluster, raw, undefined, action.run);
        }
        return;
      }
      case 'renewUnrecorded': {
        const c = CANDIDATES[action.who] as ModelCandidate;
        if (!holdsOver(c, false)) return;
        const cluster = clusterOf(c.cluster);
        now += 1;
        const written = renewSlowly(cluster, c, action.writeMs);
        if (written === 'not-holder' || !written.ok) return;
        noteRenewal(c);
        return;
      }
      case 'fastPath': {
        const recorded = changes[action.pick % Math.max(changes.length, 1)];
        if (recorded === undefined) return;
        const { deps, mirrorDeps } = invocation('fast path', action.crashAt, action.run);
        await crashTolerant(decideAndMirror(deps, mirrorDeps, recorded.key, { change: recorded.change }));
        return;
      }
      case 'httpRenew':
      case 'httpRelease': {
        const c = CANDIDATES[action.who] as ModelCandidate;
        if (!holdsOver(c, true)) return;
        const releasing = action.t === 'httpRelease';
        try {
          await table.store().recordRenewal(
            c.lease,
            {
              holderIdentity: releasing ? '' : c.name,
              expectedHolder: c.name,
              leaseDurationSeconds: releasing ? 1 : 5,
            },
            clock(),
          );
        } catch (error) {
          if (!(error instanceof ConflictError)) throw error;
        }
        return;
      }
      case 'elect': {
        const { deps } = invocation('elect', action.crashAt);
        await crashTolerant(handleStreamBatch(deps, streamEvent(FILTERS.elect, action.picks)));
        return;
      }
      case 'mirror': {
        const { mirrorDeps } = invocation('mirror', action.crashAt);
        await crashTolerant(handleMirrorBatch(mirrorDeps, streamEvent(FILTERS.mirror, action.picks)));
        return;
      }
      case 'requeue': {
        const { deps } = invocation('requeue', action.crashAt);
        // A due timer if there is one; otherwise a late or duplicate message, which must be harmless too.
        const due = timers.find((timer) => timer.dueAt <= now);
        const lease = due?.key ?? (LEASES[action.lease] as LeaseKey);
        const event = {
          Records: [{ messageId: `m${index}`, body: JSON.stringify({ lease, dueAt: due?.dueAt ?? now }) }],
        } as SQSEvent;
        await crashTolerant(handleTimerBatch(deps, event));
        return;
      }
      case 'keptStep': {
        if (!keepsDeadlines) return;
        const { deps, mirrorDeps } = invocation('kept step', action.crashAt, action.run);
        const key = LEASES[action.lease] as LeaseKey;
        // As keptDeadlines takes it: the step, then a quiet holder's last renewal recorded.
        await crashTolerant(
          decideAndMirror(deps, mirrorDeps, key).then(() => recordQuietHolderRenewal(deps, key)),
        );
        return;
      }
      case 'newRun':
        newRun(action.run);
        return;
      case 'cover':
        coverLive = keepsDeadlines && action.live;
        return;
      case 'sweep': {
        const { deps, mirrorDeps } = invocation('sweep', action.crashAt);
        await crashTolerant(
          handleSweep(deps, undefined, async (key, scanned) => {
            await collectExpiredCandidates(mirrorDeps, key, clock(), scanned);
            await mirrorLease(mirrorDeps, key);
          }),
        );
        return;
      }
    }
  };

  // Each round's invocations race one another; rounds follow one another, so leases live through
  // several elections, renewals and failovers in one run.
  let index = 0;
  for (const round of rounds) {
    await s.waitFor(Promise.all(round.map((action) => run(action, index++))));
  }
  return { table, clusters, errors, lagViolations };
}

async function crashTolerant(work: Promise<unknown>): Promise<void> {
  try {
    await work;
  } catch (error) {
    if (!(error instanceof CrashError)) throw error;
  }
}

/**
 * 150 runs in `npm test`. MODEL_RUNS widens a search; MODEL_SEED (and MODEL_PATH) replay a failure as
 * fast-check prints it (docs/reliability.md, "Model-based concurrency test").
 */
const MODEL_RUNS = Number(process.env.MODEL_RUNS ?? 150);

function replayed(): { seed?: number; path?: string } {
  const { MODEL_SEED: seed, MODEL_PATH: path } = process.env;
  return {
    ...(seed !== undefined && { seed: Number(seed) }),
    ...(path !== undefined && { path }),
  };
}

describe('concurrency model (property: in-memory table and clusters, fast-check scheduler)', () => {
  it(
    'keeps one unexpired holder per lease, terms that never go down, and every accepted heartbeat',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.scheduler(),
          fc.tuple(offsetArb, offsetArb, offsetArb),
          fc.array(fc.array(actionArb, { minLength: 1, maxLength: 8 }), { minLength: 4, maxLength: 16 }),
          boundArb,
          preemptionArb,
          fc.boolean(),
          fc.boolean(),
          holderSecondsArb,
          async (
            s,
            offsets,
            rounds,
            boundMs,
            preemption,
            keepsDeadlines,
            takesOverReleases,
            holderSeconds,
          ) => {
            // A run is promises only: a turn of the event loop between runs lets vitest's worker answer
            // its runner (it times out on "onTaskUpdate" in a search of minutes otherwise).
            await new Promise((resolve) => setImmediate(resolve));
            const { table, clusters, errors, lagViolations } = await runModel(
              s,
              offsets,
              [WARM_UP, ...rounds],
              boundMs,
              preemption,
              keepsDeadlines,
              takesOverReleases,
              holderSeconds,
            );
            expect(errors).toEqual([]);
            expect(lagViolations).toEqual([]);
            for (const key of LEASES) {
              const clusterHistories = key.scope
                .split('+')
                .map((name) => clusters.get(name as ClusterName) as InMemoryCluster);
              expect(checkSingleHolder(table, clusterHistories, key)).toEqual([]);
              expect(checkTermsGrow(table, clusterHistories, key)).toEqual([]);
            }
            expect(checkHeartbeatsKept(table, [...clusters.values()])).toEqual([]);
          },
        ),
        { numRuns: MODEL_RUNS, ...replayed() },
      );
    },
    Math.max(60_000, MODEL_RUNS * 400),
  );
});
