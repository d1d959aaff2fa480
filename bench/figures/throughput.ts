import type { DynamoDBRecord } from 'aws-lambda';
import pLimit from 'p-limit';
import pRetry from 'p-retry';
import { Agent, fetch } from 'undici';
import { CANDIDATE_REFRESH_MS } from '../../lib/election/timing.js';
import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import { type LocalCoordinator, startLocalCoordinator } from '../../lib/local/local-coordinator.js';
import { CandidateKeeper } from '../candidate-keeper.js';
import { CapacityMeter, consumedBetween } from '../capacity-meter.js';
import type { KubeBench } from '../kube-env.js';
import { createCandidate, holdLease, leaseHeldBy, renewCandidate } from '../kube-objects.js';
import type { LeaseWatch } from '../lease-watch.js';
import { PingAnswerer } from '../ping-answerer.js';

export interface ThroughputRow {
  readonly path: 'http' | 'ingest';
  readonly leases: number;
  readonly heartbeats: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** Counted per renewal heartbeat (the steady state: nothing about the candidate changed). */
  readonly writeUnits: number;
  readonly readUnits: number;
  /** elect invocations the renewals caused (the stream filter should pass none). */
  readonly electInvocations: number;
  /** Table calls per renewal: writes (Put/Update/Delete) and reads (Get/Query). */
  readonly writeCalls: number;
  readonly readCalls: number;
  /** HTTP: the `heartbeat` function's own invocations per heartbeat. */
  readonly lambdaInvocations: number;
  /**
   * Table calls the minute sweep made while the round ran: not per heartbeat (the figures above
   * leave them out), but a fixed cost per lease per minute, shown so that nothing is hidden.
   */
  readonly sweepCallsInRound: number;
  /**
   * Table calls of timer deliveries (`requeue`) while the round ran, left out likewise: deadlines
   * armed before the round (the setup's candidates come due for their 15-minute refresh while the
   * bench holds each lease for an hour), not work the renewals caused.
   */
  readonly timerCallsInRound: number;
  /** Every function's table calls in the round, left-out ones included (in the saved results). */
  readonly callsByFunction: Readonly<Record<string, { readonly writes: number; readonly reads: number }>>;
  /** HTTP rows: one sweep over the table after the round, per lease (the sweep's fixed cost). */
  readonly sweepPerLease?: { readonly readUnits: number; readonly writeUnits: number };
  /** HTTP rows: that sweep's wall time, and the leases it found needing a reconcile. */
  readonly sweepRun?: { readonly seconds: number; readonly scanned: number; readonly reconciled: number };
}

const CANDIDATES_PER_LEASE = 3;
const IN_FLIGHT = 32;
/**
 * The setup's elections arm timers for the default 5 s lease (its pre-ping and expiry) before the
 * bench holds each lease for an hour. They are delivered before the timed round, early, so they do
 * not land in it: a short round (100 leases) would otherwise count them against the heartbeats.
 */
const SETUP_TIMER_HORIZON_MS = 60_000;

async function settleSetupTimers(
  coordinator: Pick<LocalCoordinator, 'timers' | 'streams'> & { mirror?: LocalCoordinator['mirror'] },
): Promise<void> {
  await coordinator.timers.fireDue(Date.now() + SETUP_TIMER_HORIZON_MS);
  await coordinator.streams.drain();
  await coordinator.mirror?.drain();
}

function heartbeat(lease: string, name: string, renewTime: number, emulationVersion = '1.35.0') {
  return JSON.stringify({
    apiVersion: 'coordination.k8s.io/v1beta1',
    kind: 'LeaseCandidate',
    metadata: { name, namespace: 'default' },
    spec: {
      leaseName: lease,
      binaryVersion: '1.35.0',
      emulationVersion,
      strategy: 'OldestEmulationVersion',
      renewTime: new Date(renewTime).toISOString(),
    },
  });
}

/**
 * Heartbeats/s through the HTTP API on DynamoDB Local at each scale, on a fresh table: every
 * candidate registers (and each lease is elected), then every candidate renews once, timed.
 */
export async function measureHttpThroughput(
  scales: readonly number[],
  progress: Progress,
): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  for (const leases of scales) {
    const counts = { sent: 0, held: 0 };
    const meter = new CapacityMeter();
    const coordinator = await startLocalCoordinator({
      autonomous: true,
      // The sweep runs once, metered on its own, after the round (a scheduled one could overlap it).
      sweepEveryMs: 0,
      logLevel: (process.env.BENCH_LOG as 'INFO' | undefined) ?? 'SILENT',
      onTableClient: (client) => meter.attach(client),
    });
    const agent = new Agent({ connections: IN_FLIGHT });
    const limit = pLimit(IN_FLIGHT);
    const candidates = Array.from({ length: leases * CANDIDATES_PER_LEASE }, (_, i) => ({
      lease: `http-${Math.floor(i / CANDIDATES_PER_LEASE)}`,
      name: `hb-${i}`,
      // The first of each lease is the oldest emulation version: it wins whatever the arrival order.
      emulation: i % CANDIDATES_PER_LEASE === 0 ? '1.34.0' : '1.35.0',
    }));
    const send = async (c: (typeof candidates)[number], renewTime: number) => {
      const res = await fetch(`${coordinator.url}/clusters/bench/leasecandidates`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: heartbeat(c.lease, c.name, renewTime, c.emulation),
        dispatcher: agent,
      });
      await res.arrayBuffer();
      if (res.status !== 200 && res.status !== 201) throw new Error(`heartbeat ${c.name}: ${res.status}`);
      counts.sent++;
    };
    const leaseUrl = (lease: string) =>
      `${coordinator.url}/clusters/bench/namespaces/default/leases/${lease}`;
    // Setup is not timed, so it may poll for the decision. The holder then renews for an hour, so
    // no expiry ping disturbs the steady state below.
    const hold = async (members: readonly (typeof candidates)[number][]) => {
      const [best] = members;
      if (best === undefined) return;
      const { lease, name: holder } = best;
      await pRetry(
        async () => {
          const res = await fetch(leaseUrl(lease), { dispatcher: agent });
          const body = (await res.json()) as { spec?: { holderIdentity?: string } };
          if (body.spec?.holderIdentity === holder) return;
          // Like live candidates, the members keep heartbeating meanwhile: a heartbeat is how an
          // HTTP candidate answers a ping, and the vote waits for those answers.
          for (const c of members) await send(c, Date.now());
          throw new Error(`lease ${lease} is not held by ${holder} yet`);
        },
        { retries: 60, minTimeout: 250, maxTimeout: 1000 },
      );
      const res = await fetch(`${leaseUrl(lease)}/holder/${holder}`, {
        method: 'PUT',
        // fetch sends a string body as text/plain, which the API refuses (415).
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ leaseDurationSeconds: 3600 }),
        dispatcher: agent,
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`renewing ${lease} as its holder: ${res.status}`);
      counts.held++;
    };
    progress(`HTTP ${leases}: setting up ${candidates.length} candidates`);
    const reporter = setInterval(
      () => progress(`  ${counts.sent} heartbeats sent, ${counts.held}/${leases} leases held for the hour`),
      PROGRESS_EVERY_MS,
    );
    reporter.unref();
    try {
      // Setup, untimed, a lease at a time (32 in flight): its candidates register, it is elected
      // while they are fresh, its holder holds it. Registering every candidate first leaves the
      // elections far behind the heartbeats: at 10,000 leases that setup took three times as long
      // (docs/benchmark.md).
      await Promise.all(
        Array.from({ length: leases }, (_, l) =>
          limit(async () => {
            const members = candidates.slice(l * CANDIDATES_PER_LEASE, (l + 1) * CANDIDATES_PER_LEASE);
            for (const c of members) await send(c, Date.now());
            await hold(members);
          }),
        ),
      );
      await coordinator.streams.drain();
      // One more untimed round answers any ping a slow setup caused, so the timed round sees none.
      await Promise.all(candidates.map((c) => limit(() => send(c, Date.now()))));
      await coordinator.streams.drain();
      // No clusters here, so no mirror consumer to drain.
      await settleSetupTimers({ timers: coordinator.timers, streams: coordinator.streams });
      const before = { ...meter.snapshot(), elect: coordinator.streams.invocations.batches };
      const started = performance.now();
      await Promise.all(candidates.map((c) => limit(() => send(c, Date.now()))));
      const seconds = (performance.now() - started) / 1000;
      await coordinator.streams.drain();
      const after = meter.snapshot();
      const row = measuredRow('http', leases, candidates.length, seconds, before, after, coordinator.streams);
      // One sweep, metered alone: what the schedule costs per lease each minute, at this scale.
      // (The ingest rows below hold the bench's minute schedule likewise, and meter one the same way.)
      const sweepStarted = performance.now();
      const swept = await coordinator.sweep();
      const sweepSeconds = (performance.now() - sweepStarted) / 1000;
      const sweep = consumedBetween(after, meter.snapshot(), (name) => name === 'sweep');
      rows.push({
        ...row,
        sweepPerLease: { readUnits: sweep.readUnits / leases, writeUnits: sweep.writeUnits / leases },
        sweepRun: { seconds: sweepSeconds, scanned: swept.scanned, reconciled: swept.reconciled },
      });
    } finally {
      clearInterval(reporter);
      await agent.close();
      await coordinator.stop();
    }
  }
  return rows;
}

/**
 * Heartbeats/s through `ingest`: LeaseCandidates renewed in a real kube-apiserver, carried by the
 * watch into the table. Timed from the first renewal sent to the last renewal seen on the table
 * stream (which is polled every 250 ms, so the figure is a floor by up to that much).
 *
 * Setup, untimed: each lease gets its best candidate first (an older emulation version, so it
 * wins whatever the order), is elected, gets its other two candidates, and is then held by the
 * bench as its leader would hold it, with a one-hour duration: the timed renewals meet the steady
 * state (a live leader, nothing to decide), not pings before an expiry.
 */
export async function measureIngestThroughput(
  bench: KubeBench,
  scales: readonly number[],
  progress: Progress,
  onRow: (row: ThroughputRow) => Promise<void>,
): Promise<void> {
  const plane = bench.ours[0] as ControlPlane;
  // Watched, not polled: 32 setups in flight polling their Lease would load the apiserver they wait
  // on. The bench's own watches of the plane, which run for the whole bench.
  const leaseWatch = watchOf(bench.watches, plane);
  const pings = new PingAnswerer(plane, watchOf(bench.candidateWatches, plane), 'tp');
  const keeper = new CandidateKeeper((name) => renewCandidate(plane, name));
  const figure: IngestFigure = { bench, plane, leaseWatch, pings, keeper, progress, groups: [] };
  // The minute sweep scans the whole table, every figure's leases so far: at 60,000 items a scan took
  // about a minute on DynamoDB Local under this load, so sweeps ran back to back and starved the
  // 10,000-lease setup and round. Held here; each round is followed by one sweep, metered alone.
  const releaseSweeps = bench.coordinator.holdSweeps();
  try {
    for (const leases of scales) await measureIngestScale(figure, leases, onRow);
  } finally {
    releaseSweeps();
    pings.stop();
    // Stopped already unless a setup failed, whose own error is the one to report.
    await keeper.stop().catch(() => undefined);
  }
}

function watchOf(watches: ReadonlyMap<string, LeaseWatch> | undefined, plane: ControlPlane): LeaseWatch {
  const watch = watches?.get(plane.name);
  if (watch === undefined) throw new Error(`the bench has no watch of ${plane.name}`);
  return watch;
}

/** What the ingest figure keeps across its scales. */
interface IngestFigure {
  readonly bench: KubeBench;
  readonly plane: ControlPlane;
  readonly leaseWatch: LeaseWatch;
  readonly pings: PingAnswerer;
  /** Renews the candidates while a setup runs, as client-go's would renew themselves. */
  readonly keeper: CandidateKeeper;
  readonly progress: Progress;
  /** Every scale's candidates so far. */
  readonly groups: { readonly prefix: string; readonly names: readonly string[] }[];
}

type Names = readonly { readonly lease: string; readonly name: string }[];

async function measureIngestScale(
  figure: IngestFigure,
  leases: number,
  onRow: (row: ThroughputRow) => Promise<void>,
): Promise<void> {
  const { bench, plane, progress } = figure;
  const prefix = `tp${leases}-`;
  const names = Array.from({ length: leases * CANDIDATES_PER_LEASE }, (_, i) => ({
    lease: `${prefix}${Math.floor(i / CANDIDATES_PER_LEASE)}`,
    name: `${prefix}c${i}`,
  }));
  figure.groups.push({ prefix, names: names.map((c) => c.name) });
  await setUpIngestScale(figure, prefix, names);
  await renewStaleCandidates(figure);
  const { answered, failed } = figure.pings;
  progress(`ingest ${leases}: timed round (pings answered so far: ${answered}, failed ${failed})`);
  const limit = pLimit(IN_FLIGHT);
  const before = { ...bench.meter.snapshot(), elect: bench.coordinator.streams.invocations.batches };
  const renewedAll = waitForCandidateRecords(bench, prefix, names.length, 'renew', progress);
  const started = Date.now();
  for (const c of names) figure.keeper.renewed(c.name, started);
  await Promise.all(names.map((c) => limit(() => renewCandidate(plane, c.name))));
  const seconds = ((await renewedAll) - started) / 1000;
  const after = bench.meter.snapshot();
  const row = measuredRow('ingest', leases, names.length, seconds, before, after, bench.coordinator.streams);
  // One sweep, metered alone, with its cluster pass (HTTP rows have no clusters): it lists the
  // cluster's Leases once and compares. It covers the whole table, every figure's leases so far.
  const sweepStarted = performance.now();
  const swept = await bench.coordinator.sweep();
  const sweepSeconds = (performance.now() - sweepStarted) / 1000;
  const sweep = consumedBetween(after, bench.meter.snapshot(), (name) => name === 'sweep');
  const perScanned = Math.max(swept.scanned, 1);
  await onRow({
    ...row,
    sweepPerLease: { readUnits: sweep.readUnits / perScanned, writeUnits: sweep.writeUnits / perScanned },
    sweepRun: { seconds: sweepSeconds, scanned: swept.scanned, reconciled: swept.reconciled },
  });
}

/**
 * Untimed: each lease gets its best candidate first (an older emulation version, so it wins
 * whatever the order), is elected, gets its other two candidates, and is held for the hour.
 */
async function setUpIngestScale(figure: IngestFigure, prefix: string, names: Names): Promise<void> {
  const { bench, plane, keeper, progress } = figure;
  const leases = names.length / CANDIDATES_PER_LEASE;
  progress(`ingest ${leases}: setting up ${names.length} candidates`);
  const registered = waitForCandidateRecords(bench, prefix, names.length, 'spec', progress);
  const held = waitForLeaseRenewals(bench, prefix, leases, progress);
  const create = async (c: Names[number], emulation: string) => {
    await createCandidate(plane, c.name, c.lease, { binary: '1.35.0', emulation });
    keeper.renewed(c.name);
  };
  keeper.start();
  await setUpLeases(figure, names, create);
  await registered;
  await held;
  await keeper.stop();
  progress(
    `ingest ${leases}: set up (${keeper.renewals} renewals kept candidates fresh so far); draining the streams and the mirror, delivering setup timers`,
  );
  await bench.coordinator.streams.drain();
  await bench.coordinator.mirror.drain();
  await settleSetupTimers(bench.coordinator);
}

/** Each lease: its best candidate, its election, its other two candidates, its holder's hold; 32 at once. */
async function setUpLeases(
  figure: IngestFigure,
  names: Names,
  create: (c: Names[number], emulation: string) => Promise<void>,
): Promise<void> {
  const { bench, plane } = figure;
  const leases = names.length / CANDIDATES_PER_LEASE;
  const limit = pLimit(IN_FLIGHT);
  await Promise.all(
    Array.from({ length: leases }, (_, l) =>
      limit(async () => {
        const [best, ...others] = names.slice(l * CANDIDATES_PER_LEASE, (l + 1) * CANDIDATES_PER_LEASE);
        if (best === undefined) return;
        await create(best, '1.34.0');
        await leaseShowsHolder(figure, best.lease, best.name).catch(async (error: unknown) => {
          limit.clearQueue();
          // Say what the table holds for the lease, to tell a lost event from a lost decision or mirror.
          const key = { scope: plane.name, namespace: 'default', name: best.lease };
          const state = await bench.coordinator.deps.store.loadLease(key);
          throw new Error(`${(error as Error).message}; table: ${JSON.stringify(state)}`, { cause: error });
        });
        for (const c of others) await create(c, '1.35.0');
        await holdLease(plane, best.lease, 3600);
      }),
    ),
  );
}

/**
 * A candidate not heard from for 15 minutes is pinged to refresh its liveness (upstream's rule),
 * and the ping answerer renews it. A candidate renewed more than half that long ago (this scale's
 * first ones, after a long setup, and earlier scales') would come due inside the timed round:
 * renewing those once, untimed, first keeps the round what it claims to be.
 */
async function renewStaleCandidates(figure: IngestFigure): Promise<void> {
  const { bench, plane, keeper, progress } = figure;
  const limit = pLimit(IN_FLIGHT);
  for (const group of figure.groups) {
    const stale = keeper.renewedBefore(group.names, Date.now() - CANDIDATE_REFRESH_MS / 2);
    if (stale.length === 0) continue;
    progress(
      `  renewing ${stale.length} ${group.prefix} candidates last renewed over ${CANDIDATE_REFRESH_MS / 120_000} minutes ago, untimed`,
    );
    const stored = waitForCandidateRecords(bench, group.prefix, stale.length, 'renew', progress);
    await Promise.all(
      stale.map((name) =>
        limit(async () => {
          await renewCandidate(plane, name);
          keeper.renewed(name);
        }),
      ),
    );
    await stored;
  }
  await bench.coordinator.streams.drain();
  await bench.coordinator.mirror.drain();
  await settleSetupTimers(bench.coordinator);
}

/**
 * Resolves once the Lease names `holder` (the coordinator elected and mirrored it), as the Lease
 * watch shows it. A slow poll beside the watch answers the holder's own ping if the ping answerer
 * has not, and sees the Lease if the watch fell behind; it gives up after about ten minutes, saying
 * what the Lease showed.
 */
async function leaseShowsHolder(figure: IngestFigure, lease: string, holder: string): Promise<void> {
  const shown = new AbortController();
  try {
    await Promise.race([
      figure.leaseWatch.waitFor(lease, (view) => view.holderIdentity === holder),
      leaseHeldBy(figure.plane, lease, holder, {
        retries: 120,
        minTimeout: 5_000,
        maxTimeout: 5_000,
        signal: shown.signal,
      }),
    ]);
  } finally {
    shown.abort();
  }
}

/** Reports a long wait's progress now and then, so a run that stalls says where. */
export type Progress = (line: string) => void;
const PROGRESS_EVERY_MS = 60_000;

/** Runs `report` every minute until `done` settles; the timer never keeps the process alive. */
function reportWhileWaiting<T>(done: Promise<T>, report: () => void): Promise<T> {
  const timer = setInterval(report, PROGRESS_EVERY_MS);
  timer.unref();
  return done.finally(() => clearInterval(timer));
}

/** Resolves once every lease of the prefix shows a holder's renewal with the hour-long duration. */
function waitForLeaseRenewals(
  bench: KubeBench,
  prefix: string,
  count: number,
  progress: Progress,
): Promise<void> {
  const seen = new Set<string>();
  const done = new Promise<void>((resolve) => {
    const stop = bench.onRecord((record: DynamoDBRecord) => {
      const image = record.dynamodb?.NewImage;
      const pk = image?.pk?.S ?? '';
      if (image?.sk?.S !== 'LEASE' || !pk.includes(`/${prefix}`)) return;
      if (image.leaseDurationSeconds?.N !== '3600') return;
      seen.add(pk);
      if (seen.size === count) {
        stop();
        resolve();
      }
    });
  });
  return reportWhileWaiting(done, () =>
    progress(`  ${seen.size}/${count} ${prefix} leases held for the hour`),
  );
}

/** Resolves with the time the `count`-th candidate record of that kind and prefix was seen on the stream. */
function waitForCandidateRecords(
  bench: KubeBench,
  prefix: string,
  count: number,
  change: 'spec' | 'renew',
  progress: Progress,
): Promise<number> {
  const seen = new Set<string>();
  const done = new Promise<number>((resolve) => {
    const stop = bench.onRecord((record: DynamoDBRecord) => {
      const image = record.dynamodb?.NewImage;
      const sk = image?.sk?.S ?? '';
      if (image?.change?.S !== change || !sk.includes(`#${prefix}c`)) return;
      seen.add(sk);
      if (seen.size === count) {
        stop();
        resolve(Date.now());
      }
    });
  });
  return reportWhileWaiting(done, () =>
    progress(`  ${seen.size}/${count} ${prefix} candidates (${change}) stored`),
  );
}

type MeterReading = ReturnType<CapacityMeter['snapshot']>;

/** Work on a clock rather than caused by the renewals: the minute sweep and timer deliveries. */
const LEFT_OUT = new Set(['sweep', 'requeue']);

/**
 * Per-renewal figures from the meter and the elect runner, before and after the timed round. The
 * minute sweep's calls are left out of them (it costs per lease per minute, whatever the traffic)
 * and counted on their own.
 */
function measuredRow(
  path: ThroughputRow['path'],
  leases: number,
  n: number,
  seconds: number,
  before: MeterReading & { elect: number },
  after: MeterReading,
  elect: { invocations: { batches: number } },
): ThroughputRow {
  const caused = consumedBetween(before, after, (name) => !LEFT_OUT.has(name));
  const callsByFunction = Object.fromEntries(
    Object.keys(after.byFunction).map((name) => {
      const { writes, reads } = consumedBetween(before, after, (other) => other === name);
      return [name, { writes, reads }];
    }),
  );
  const callsOf = (name: string) =>
    (callsByFunction[name]?.writes ?? 0) + (callsByFunction[name]?.reads ?? 0);
  return {
    path,
    leases,
    heartbeats: n,
    seconds,
    perSecond: n / seconds,
    writeUnits: caused.writeUnits / n,
    readUnits: caused.readUnits / n,
    writeCalls: caused.writes / n,
    readCalls: caused.reads / n,
    electInvocations: elect.invocations.batches - before.elect,
    // Over HTTP each heartbeat is one invocation of the `heartbeat` function; ingest is always on.
    lambdaInvocations: path === 'http' ? 1 : 0,
    sweepCallsInRound: callsOf('sweep'),
    timerCallsInRound: callsOf('requeue'),
    callsByFunction,
  };
}
