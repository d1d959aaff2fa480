import { setTimeout } from 'node:timers/promises';
import { DEADLINE_MARGIN_MS, SCHEDULE_EVERY_MS } from '../../lib/handlers/ingest.js';
import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import { COVER_ACCOUNT, consumedBetween } from '../capacity-meter.js';
import type { KubeBench } from '../kube-env.js';
import type { LeaseWatch } from '../lease-watch.js';
import { deployedFunction } from '../serverless-functions.js';
import { cleanUp, leads, spawnCandidate } from './processes.js';

export interface EventCost {
  readonly events: number;
  readonly writeUnits: number;
  readonly readUnits: number;
  /** elect + mirror + requeue invocations per event. */
  readonly invocations: number;
}

/**
 * A leader renewal's cost, with the part that is not per renewal taken out: the `requeue` timer that
 * follows a held lease's deadline fires once per lease duration (less the pre-ping lead), however
 * often the holder renews, so a fleet's bill scales it with time held, not with renewals.
 */
export interface RenewalCost extends EventCost {
  /**
   * Of the run's Lease renewals (`events`), the share ingest recorded: the rest fell within its
   * bound of the recorded deadline and cost nothing (docs/design.md, "Renewals kept by ingest").
   * Absent in runs from before ingest kept renewals (all were recorded).
   */
  readonly recordedShare?: number;
  /** Timer deliveries per renewal in this run (15 s leases, renewals every 2 s, as the fleet's). */
  readonly timersPerRenewal: number;
  /** What one timer delivery cost: its table units (it is one `requeue` invocation). */
  readonly perTimer: { readonly writeUnits: number; readonly readUnits: number };
  /**
   * Counted per second a lease was held in the run: timers delivered (`requeue` invocations) and
   * timers sent (SendMessage). With ingest keeping held leases' deadlines (docs/design.md, "Timers
   * kept by ingest") both are about 0; absent in runs from before this was counted.
   */
  readonly perLeaseSecond?: { readonly timers: number; readonly sent: number };
  /**
   * Ingest's timer cover, counted per second of the run (its writes and the deciders' reads): a
   * fixed cost, whatever the fleet, so it is taken out of the renewal's units.
   */
  readonly coverPerSecond?: { readonly writeUnits: number; readonly readUnits: number };
  /**
   * The same leaders counted again under ingest as the deployed schedule runs it (a run every
   * minute, each stopping after 72 s): what each run's first list and the runs' overlap add to a
   * renewal. Absent in runs from before this was counted.
   */
  readonly deployed?: DeployedCount;
}

/**
 * A count of renewals and what the table took for them over whole minutes of the deployed schedule,
 * beside the same count under one run that never stops. Both count only the calls on the leaders'
 * own leases: each run's first list reads every Lease of the cluster, and the bench's cluster also
 * holds the leases of every trial so far, which a fleet's would not.
 */
export interface DeployedCount {
  readonly minutes: number;
  readonly renewals: number;
  /** Per renewal, under the deployed schedule. */
  readonly writeUnits: number;
  readonly readUnits: number;
  /** Per renewal, under one run that never stops (the count before this one). */
  readonly alwaysOn: { readonly writeUnits: number; readonly readUnits: number };
}

/**
 * The deployed ingest: EventBridge starts a run every minute, and each stops DEADLINE_MARGIN_MS
 * before its timeout (75 s in serverless.yml), so two runs overlap for 12 s of every minute.
 */
const RUN_EVERY_MS = SCHEDULE_EVERY_MS;
const RUN_LASTS_MS = deployedFunction('ingest').timeout * 1000 - DEADLINE_MARGIN_MS;
const DEPLOYED_MINUTES = 3;

/**
 * The run's leaders renew as the priced fleet's do (kube-scheduler's defaults: 15 s leases, renew
 * deadline 10 s, retry period 2 s), so that what ingest records and what comes due is counted at
 * the fleet's own timing, not scaled from the trials' 5 s leases.
 */
const LEASE_SECONDS = 15;
const FLEET_TIMINGS = [`--lease-duration=${LEASE_SECONDS}s`, '--renew-deadline=10s', '--retry-period=2s'];

/**
 * What a leader's Lease renewal costs us, counted: `leaders` client-go processes lead their own
 * (ungrouped) leases and renew every retry period; ingest records each renewal it sees.
 */
export async function measureRenewalCost(
  bench: KubeBench,
  leaders: number,
  renewals: number,
): Promise<RenewalCost> {
  const plane = bench.ours[0] as ControlPlane;
  const processes = Array.from({ length: leaders }, (_, i) =>
    spawnCandidate(bench, plane, `renew-${i}-a`, `renew-${i}`, ['1.35.0', '1.35.0'], FLEET_TIMINGS),
  );
  try {
    await Promise.all(processes.map((p) => leads(p)));
    // An election arms its new holder's first timer itself; the count starts once those have come
    // due (the pre-ping, 13 s on), so that it sees the steady state, as the fleet does.
    await setTimeout(LEASE_SECONDS * 1000 + 1000);
    await bench.coordinator.streams.drain();
    await bench.coordinator.mirror.drain();
    const before = counters(bench);
    const meterBefore = bench.meter.snapshot();
    const timersBefore = bench.coordinator.timers.invocations.batches;
    const leaseTimersBefore = leaseTimers(bench, leaders);
    const startedAt = performance.now();
    const steady = bench.meter.tally(leadersLeases(leaders));
    const { renewals: seen, recorded } = await countRenewals(bench, plane, leaders, renewals);
    steady.stop();
    const seconds = (performance.now() - startedAt) / 1000;
    const after = counters(bench);
    const meterAfter = bench.meter.snapshot();
    const timers = bench.coordinator.timers.invocations.batches - timersBefore;
    const leaseTimersAfter = leaseTimers(bench, leaders);
    const own = {
      sent: leaseTimersAfter.sent - leaseTimersBefore.sent,
      delivered: leaseTimersAfter.delivered - leaseTimersBefore.delivered,
    };
    const requeue = consumedBetween(meterBefore, meterAfter, (name) => name === 'requeue');
    const cover = consumedBetween(meterBefore, meterAfter, (name) => name === COVER_ACCOUNT);
    const alwaysOn = {
      writeUnits: steady.counted.writeUnits / seen,
      readUnits: steady.counted.readUnits / seen,
    };
    const deployed = await countAsDeployed(bench, plane, leaders, alwaysOn);
    return {
      events: seen,
      recordedShare: recorded / seen,
      writeUnits: (after.writeUnits - before.writeUnits) / seen,
      readUnits: (after.readUnits - before.readUnits) / seen,
      invocations: (after.invocations - before.invocations) / seen,
      timersPerRenewal: timers / seen,
      perTimer: {
        writeUnits: timers === 0 ? 0 : requeue.writeUnits / timers,
        readUnits: timers === 0 ? 0 : requeue.readUnits / timers,
      },
      perLeaseSecond: {
        timers: own.delivered / (leaders * seconds),
        sent: own.sent / (leaders * seconds),
      },
      coverPerSecond: { writeUnits: cover.writeUnits / seconds, readUnits: cover.readUnits / seconds },
      deployed,
    };
  } finally {
    await cleanUp(plane, processes);
  }
}

/**
 * The leaders' renewals counted over whole minutes of ingest as deployed: the always-on run is
 * stopped, a run starts every minute and stops 72 s on, and the count covers the minutes from the
 * second run's start (each with one run's first list and one overlap). The always-on run is back after.
 */
async function countAsDeployed(
  bench: KubeBench,
  plane: ControlPlane,
  leaders: number,
  alwaysOn: DeployedCount['alwaysOn'],
): Promise<DeployedCount> {
  const { coordinator } = bench;
  await coordinator.stopIngest();
  const runs: Promise<void>[] = [];
  const schedule = () => runs.push(coordinator.startIngestRun(RUN_LASTS_MS, RUN_EVERY_MS));
  schedule();
  let ticker: NodeJS.Timeout | undefined;
  try {
    await setTimeout(RUN_EVERY_MS);
    const watch = bench.watches.get(plane.name) as LeaseWatch;
    const last = new Map(
      Array.from({ length: leaders }, (_, i) => [`renew-${i}`, watch.get(`renew-${i}`)?.renewTime]),
    );
    let renewals = 0;
    const ours = (name: string) => /^renew-\d+$/.test(name) && Number(name.slice(6)) < leaders;
    const stopCounting = watch.onView((lease) => {
      if (!ours(lease.name) || lease.renewTime === undefined) return;
      if (last.get(lease.name) !== lease.renewTime) renewals++;
      last.set(lease.name, lease.renewTime);
    });
    const tally = bench.meter.tally(leadersLeases(leaders));
    schedule();
    ticker = setInterval(schedule, RUN_EVERY_MS);
    await setTimeout(DEPLOYED_MINUTES * RUN_EVERY_MS);
    tally.stop();
    stopCounting();
    const { writeUnits, readUnits } = tally.counted;
    return {
      minutes: DEPLOYED_MINUTES,
      renewals,
      writeUnits: writeUnits / Math.max(renewals, 1),
      readUnits: readUnits / Math.max(renewals, 1),
      alwaysOn,
    };
  } finally {
    clearInterval(ticker);
    await coordinator.stopIngest();
    await Promise.all(runs);
    coordinator.startIngest();
  }
}

/** The partitions of the leaders' own leases (`renew-<i>`; the bench's lease keys end in the Lease's name). */
function leadersLeases(leaders: number): (pk: string) => boolean {
  const names = new Set(Array.from({ length: leaders }, (_, i) => `/renew-${i}`));
  return (pk) => names.has(pk.slice(pk.lastIndexOf('/')));
}

/**
 * Counts the leaders' Lease renewals as the cluster shows them (each a new renewTime on the Lease),
 * until there are `renewals`, and the renewal records ingest wrote meanwhile.
 */
async function countRenewals(
  bench: KubeBench,
  plane: ControlPlane,
  leaders: number,
  renewals: number,
): Promise<{ renewals: number; recorded: number }> {
  const watch = bench.watches.get(plane.name) as LeaseWatch;
  let recorded = 0;
  const stop = bench.onRecord((record) => {
    const image = record.dynamodb?.NewImage;
    if (image?.sk?.S !== 'LEASE' || !image.pk?.S?.includes('/renew-')) return;
    if (['renewal', 'renewal-local', 'observed'].includes(image.change?.S ?? '')) recorded++;
  });
  let seen = 0;
  await new Promise<void>((resolve) => {
    for (let i = 0; i < leaders; i++) {
      let last = watch.get(`renew-${i}`)?.renewTime;
      void watch.waitFor(`renew-${i}`, (lease) => {
        if (seen >= renewals) return true;
        if (lease.renewTime === undefined || lease.renewTime === last) return false;
        last = lease.renewTime;
        if (++seen >= renewals) resolve();
        return seen >= renewals;
      });
    }
  });
  // Ingest records a renewal a few milliseconds after the Lease shows it.
  await bench.coordinator.streams.drain();
  stop();
  return { renewals: seen, recorded };
}

/** Timers sent and delivered so far for the run's own leases (`renew-<i>`), not other trials' leftovers. */
function leaseTimers(bench: KubeBench, leaders: number): { sent: number; delivered: number } {
  const total = { sent: 0, delivered: 0 };
  for (let i = 0; i < leaders; i++) {
    const counts = bench.coordinator.timers.byLease.get(`renew-${i}`);
    total.sent += counts?.sent ?? 0;
    total.delivered += counts?.delivered ?? 0;
  }
  return total;
}

/**
 * Units and invocations so far, the minute sweep's and the timer cover's left out (fixed costs,
 * counted apart).
 */
export function counters(bench: KubeBench) {
  const { readUnits, writeUnits } = consumedBetween(
    { byFunction: {} },
    bench.meter.snapshot(),
    (name) => name !== 'sweep' && name !== COVER_ACCOUNT,
  );
  const c = bench.coordinator;
  return {
    readUnits,
    writeUnits,
    invocations: c.streams.invocations.batches + c.mirror.invocations.batches + c.timers.invocations.batches,
  };
}
