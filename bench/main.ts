import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';
import { parseOrThrow } from '../lib/api/issues.js';
import type { BenchResults } from './bench-results.js';
import { warmEmulator } from './emulator-warmup.js';
import { measureBundles } from './figures/bundles.js';
import { deciderSnapshot, decidersBetween } from './figures/deciders.js';
import { decisionShare } from './figures/decision-share.js';
import { measureConditionalWrites, measureElection, measureLeaseCreates } from './figures/election.js';
import { measureFailover } from './figures/failover.js';
import { measureGateOff } from './figures/gate-off.js';
import { measureIngestDelay } from './figures/ingest-delay.js';
import { measureKubeConnections } from './figures/kube-connections.js';
import { measurePackaged } from './figures/packaged.js';
import { measurePreemption } from './figures/preemption.js';
import { LEASE_DURATION_MS } from './figures/processes.js';
import { measurePropagation } from './figures/propagation.js';
import { counters, measureRenewalCost } from './figures/renewal-cost.js';
import { measureHttpThroughput, measureIngestThroughput } from './figures/throughput.js';
import { type KubeBench, startKubeBench } from './kube-env.js';
import { writeCdf } from './plots.js';
import { renderReport } from './report.js';
import { SAVED_RUN } from './saved-run.js';

const FIGURES = [
  'election',
  'ingest',
  'failover',
  'preemption',
  'gate-off',
  'propagation',
  'connections',
  'throughput',
  'cost',
  'bundles',
  'packaged',
] as const;
type Figure = (typeof FIGURES)[number];

function positiveInt(flag: string) {
  return (value: string): number => {
    if (!/^[1-9]\d*$/.test(value))
      throw new InvalidArgumentError(`${flag} must be a positive integer, got "${value}"`);
    return Number(value);
  };
}

/** A gap longer than this would hold the first round back a minute a trial. */
const LONGEST_FIRST_ROUND_GAP_MS = 60_000;

function firstRoundGap(value: string): number {
  if (!/^(0|[1-9]\d{0,4})$/.test(value) || Number(value) > LONGEST_FIRST_ROUND_GAP_MS)
    throw new InvalidArgumentError(
      `--first-round-gap must be a whole number of milliseconds from 0 to ${LONGEST_FIRST_ROUND_GAP_MS}, got "${value}"`,
    );
  return Number(value);
}

function intList(flag: string) {
  return (value: string): number[] => value.split(',').map((v) => positiveInt(flag)(v.trim()));
}

function figureList(value: string): Figure[] {
  const names = value.split(',').map((v) => v.trim());
  const unknown = names.filter((n) => !(FIGURES as readonly string[]).includes(n));
  if (unknown.length > 0)
    throw new InvalidArgumentError(
      `--only: unknown figure ${unknown.join(', ')}; expected some of ${FIGURES.join(', ')}`,
    );
  return names as Figure[];
}

const program = new Command('bench')
  .description("Measure lease-coordinator against kube-apiserver's own CLE controller on the local stack")
  .addOption(
    new Option('--trials <n>', 'trials per latency figure (p99 needs >= 50)')
      .default(50)
      .argParser(positiveInt('--trials')),
  )
  .addOption(
    new Option('--concurrency <n>', 'leases per system in flight in process trials')
      .default(10)
      .argParser(positiveInt('--concurrency')),
  )
  .addOption(
    new Option(
      '--first-round-gap <ms>',
      'start the first round of the in-process failover and preemption trials this far apart per system instead of all at once (0 to 60000)',
    )
      .default(0)
      .argParser(firstRoundGap),
  )
  .addOption(
    new Option('--scales <leases>', 'lease counts for throughput (3 candidates each)')
      .default([100, 1000, 10000])
      .argParser(intList('--scales')),
  )
  .addOption(
    new Option('--only <figures>', `figures to run: ${FIGURES.join(',')}`)
      .default([...FIGURES])
      .argParser(figureList),
  )
  .addOption(
    new Option('--init-runs <n>', 'fresh processes per bundle for the bundles figure (median reported)')
      .default(15)
      .argParser(positiveInt('--init-runs')),
  )
  .addOption(new Option('--out <dir>', 'where the report and plots go').default('bench/results'))
  .addOption(
    new Option(
      '--render <results.json>',
      "render a saved run's report and plots again from its results.json, measuring nothing",
    ),
  )
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));

program.parse();
const options = program.opts<{
  trials: number;
  concurrency: number;
  firstRoundGap: number;
  scales: number[];
  only: Figure[];
  initRuns: number;
  out: string;
  render?: string;
}>();

/**
 * A signal ends the run with the status a shell gives it, through `process.exit`, which runs the
 * `exit` listener that kills the apiservers, etcd and DynamoDB Local the run started
 * (lib/local/owned-children.ts). `npm run bench` runs this file under `node --import tsx`, not the
 * `tsx` command, whose wrapper SIGKILLs a child that does not acknowledge a signal within 30 ms, as
 * a bench busy rendering or forking may not. The report keeps what was measured (save, per figure).
 */
for (const [signal, status] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping the run\n`);
    process.exit(status);
  });

const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const date = new Date().toISOString().slice(0, 10);
const saved = options.render === undefined ? undefined : loadResults(options.render);
// A run of some figures only gets its own name, so it never overwrites the day's full report.
const runName =
  saved?.runName ?? (options.only.length === FIGURES.length ? date : `${date}-${options.only.join('+')}`);
const outDir = saved?.outDir ?? options.out;
const plotDir = join(outDir, runName);
mkdirSync(plotDir, { recursive: true });
const results: BenchResults = saved?.results ?? {
  date,
  trials: options.trials,
  leaseDurationMs: LEASE_DURATION_MS,
  machine: { cores: cpus().length, loadAtStart: loadavg(), loadAtEnd: loadavg() },
};

/** A saved run (`<out>/<run>/results.json`): its results, and the names to write its report under. */
function loadResults(path: string): { results: BenchResults; runName: string; outDir: string } {
  let raw: z.infer<typeof SAVED_RUN>;
  try {
    raw = parseOrThrow(SAVED_RUN, JSON.parse(readFileSync(path, 'utf8')));
  } catch (error) {
    process.stderr.write(`--render: ${path} is not a bench results.json: ${(error as Error).message}\n`);
    process.exit(2);
  }
  // The figures themselves are written by this bench and read back as they were written.
  const { propagation, ...rest } = raw as unknown as BenchResults & {
    propagation?: Record<string, number[]>;
  };
  const results: BenchResults = {
    ...rest,
    ...(propagation !== undefined && {
      propagation: new Map(Object.entries(propagation).map(([n, samples]) => [Number(n), samples])),
    }),
  };
  const dir = dirname(resolve(path));
  return { results, runName: basename(dir), outDir: dirname(dir) };
}
const wants = (f: Figure) => options.only.includes(f);

/**
 * Writes the report and plots of every figure measured so far: called after each figure, so a run
 * stopped part-way still leaves what it measured.
 */
async function save(): Promise<string> {
  // A saved run rendered again keeps the load it was measured under.
  if (saved === undefined && results.machine !== undefined) results.machine.loadAtEnd = loadavg();
  const plots: string[] = [];
  const plot = async (
    name: string,
    title: string,
    series: Parameters<typeof writeCdf>[2],
    marks?: Parameters<typeof writeCdf>[3],
  ) => {
    await writeCdf(join(plotDir, name), title, series, marks);
    plots.push(`${runName}/${name}`);
  };
  if (results.election)
    await plot('election.svg', 'Election latency: LeaseCandidate created → Lease shows it', [
      { label: 'lease-coordinator', samples: results.election.ours },
      { label: 'in-tree CLE controller', samples: results.election.baseline },
    ]);
  if (results.ingestDelay)
    await plot('ingest.svg', 'Ingest delay: LeaseCandidate renewed in the apiserver → stored in the table', [
      { label: 'lease-coordinator ingest', samples: results.ingestDelay },
    ]);
  // Gate-off trials are a third series beside the gate-on ones when both were measured.
  const failoverSeries = [
    results.failover && { label: 'lease-coordinator', samples: results.failover.ours },
    results.failover && { label: 'in-tree CLE controller', samples: results.failover.baseline },
    results.gateOff && { label: 'lease-coordinator, gate off', samples: results.gateOff.failover.samples },
  ].filter((s) => s !== undefined);
  if (failoverSeries.length > 0)
    await plot(
      'failover.svg',
      'Failover: leader SIGKILLed → next best leads (client-go callbacks)',
      failoverSeries,
      [{ label: 'leaseDuration', ms: LEASE_DURATION_MS }],
    );
  const preemptionSeries = [
    results.preemption && { label: 'lease-coordinator', samples: results.preemption.ours },
    results.preemption && { label: 'in-tree CLE controller', samples: results.preemption.baseline },
    results.gateOff && {
      label: `lease-coordinator, gate off (revoke)${results.gateOff.preemptionOneAtATime ? `, ${results.gateOff.concurrency} at once` : ''}`,
      samples: results.gateOff.preemption.samples,
    },
    results.gateOff?.preemptionOneAtATime && {
      label: 'lease-coordinator, gate off (revoke), one at a time',
      samples: results.gateOff.preemptionOneAtATime.samples,
    },
  ].filter((s) => s !== undefined);
  if (preemptionSeries.length > 0)
    await plot(
      'preemption.svg',
      'Preemption: older-version candidate starts → it leads',
      preemptionSeries,
      results.gateOff && [{ label: 'leaseDuration + 2 s', ms: LEASE_DURATION_MS + 2000 }],
    );
  if (results.packaged?.failover)
    await plot(
      'packaged-failover.svg',
      'Failover as deployed (packaged bundles) against in-process and the in-tree controller',
      [
        { label: 'lease-coordinator, packaged bundles', samples: results.packaged.failover.ours },
        ...(results.failover
          ? [{ label: 'lease-coordinator, in-process', samples: results.failover.ours }]
          : []),
        { label: 'in-tree CLE controller (packaged run)', samples: results.packaged.failover.baseline },
      ],
      [
        { label: 'leaseDuration', ms: LEASE_DURATION_MS },
        { label: 'leaseDuration + 2 s', ms: LEASE_DURATION_MS + 2000 },
      ],
    );
  if (results.propagation)
    await plot(
      'propagation.svg',
      'Cross-cluster propagation: decision recorded → all N Leases show it',
      [...results.propagation].map(([n, samples]) => ({ label: `N = ${n}`, samples })),
    );
  const report = renderReport(results, plots);
  writeFileSync(join(outDir, `${runName}.md`), report);
  // The raw figures beside the plots, so a reading of the table can be checked or redone later.
  const raw = { ...results, propagation: results.propagation && Object.fromEntries(results.propagation) };
  writeFileSync(join(plotDir, 'results.json'), `${JSON.stringify(raw, null, 1)}\n`);
  return report;
}

if (saved === undefined) await measure();

/** Who acted on the lease records since `before` (bench/figures/deciders.ts), kept under `figure`. */
function countDeciders(bench: KubeBench, figure: string, before: ReturnType<typeof deciderSnapshot>): void {
  const counts = decidersBetween(before, deciderSnapshot(bench), options.trials);
  results.deciders = { ...results.deciders, [figure]: counts };
}

async function measure(): Promise<void> {
  // First, and alone: fresh processes timed on a machine the local stack is not loading yet.
  if (wants('bundles')) {
    log(`lambda bundles: size, and init in ${options.initRuns} fresh processes each`);
    results.bundles = await measureBundles(options.initRuns, log);
    await save();
  }
  // Its own apiservers and the packaged runtime, stopped before the in-process stack starts.
  if (wants('packaged')) {
    await measurePackaged(options.trials, options.concurrency, log, async (figures) => {
      results.packaged = figures;
      await save();
    });
  }
  if (options.only.every((f) => f === 'bundles' || f === 'packaged')) return;
  const gateOff = wants('gate-off');
  log(
    `starting the local stack: ${gateOff ? '6 kube-apiservers (1 baseline, 4 ours, 1 ours with the gate off)' : '5 kube-apiservers (1 baseline, 4 ours)'}, DynamoDB Local, the coordinator`,
  );
  // Every figure needs the apiservers: throughput's ingest path runs through one of ours.
  const bench = await startKubeBench(4, options.trials, { gateOff });
  try {
    results.emulatorWarmup = await warmEmulator(bench.coordinator.dynamodb.endpoint);
    log(
      `DynamoDB Local warmed: ${results.emulatorWarmup.calls} table calls from a process of its own, ${results.emulatorWarmup.ms} ms`,
    );
    if (wants('election') || wants('cost')) {
      log(`election latency: ${options.trials} trials each`);
      const before = counters(bench);
      const decidersBefore = deciderSnapshot(bench);
      const historyBefore = bench.meter.snapshot().history;
      results.election = await measureElection(bench, options.trials);
      // The last trial's removal may still be on its way to the table and the Lease: counted too.
      await bench.coordinator.streams.drain();
      await bench.coordinator.mirror.drain();
      const after = counters(bench);
      countDeciders(bench, 'election', decidersBefore);
      const historyAfter = bench.meter.snapshot().history;
      results.decisionShare = await decisionShare(bench, (lease) => /^elect-(\d+|warmup)$/.test(lease), {
        readUnits: historyAfter.readUnits - historyBefore.readUnits,
        writeUnits: historyAfter.writeUnits - historyBefore.writeUnits,
        writes: historyAfter.writes - historyBefore.writes,
        reads: historyAfter.reads - historyBefore.reads,
      });
      results.electionCost = {
        events: options.trials,
        writeUnits: (after.writeUnits - before.writeUnits) / options.trials,
        readUnits: (after.readUnits - before.readUnits) / options.trials,
        invocations: (after.invocations - before.invocations) / options.trials,
      };
      // After the counters above: the floor's writes are no part of an election's cost.
      if (wants('election')) {
        results.electionWrites = await measureConditionalWrites(bench.coordinator.dynamodb.client, 30);
        results.electionLeaseCreates = await measureLeaseCreates(bench, 30);
      }
      await save();
    }
    if (wants('ingest')) {
      log(`ingest delay: ${options.trials} renewals, one at a time`);
      results.ingestDelay = await measureIngestDelay(bench, options.trials);
      await save();
    }
    if (wants('failover')) {
      log(`failover: ${options.trials} trials each, ${options.concurrency} leases at a time`);
      const decidersBefore = deciderSnapshot(bench);
      results.failover = await measureFailover(bench, options.trials, options.concurrency, {
        firstRoundGapMs: options.firstRoundGap,
      });
      await bench.coordinator.streams.drain();
      countDeciders(bench, 'failover', decidersBefore);
      await save();
    }
    if (wants('preemption')) {
      log(`preemption: ${options.trials} trials each`);
      const decidersBefore = deciderSnapshot(bench);
      results.preemption = await measurePreemption(bench, options.trials, options.concurrency, {
        firstRoundGapMs: options.firstRoundGap,
      });
      await bench.coordinator.streams.drain();
      countDeciders(bench, 'preemption', decidersBefore);
      await save();
      if (options.concurrency > 1) {
        log(`preemption one lease per system at a time: ${options.trials} trials each, about 6 s each`);
        results.preemptionOneAtATime = await measurePreemption(
          bench,
          options.trials,
          1,
          { perSystem: true },
          'preempt1',
        );
        await bench.coordinator.streams.drain();
        await save();
      }
    }
    if (wants('gate-off')) {
      log(
        `gate off: failover and preemption, ${options.trials} trials each, ${options.concurrency} leases at a time${options.concurrency > 1 ? `; then preemption one at a time (${options.trials} trials, about 7 s each)` : ''}`,
      );
      const decidersBefore = deciderSnapshot(bench);
      results.gateOff = await measureGateOff(bench, options.trials, options.concurrency);
      await bench.coordinator.streams.drain();
      countDeciders(bench, 'gate-off', decidersBefore);
      await save();
    }
    if (wants('propagation')) {
      log(`propagation to N = 1, 2, 4 clusters: ${options.trials} trials each`);
      results.propagation = await measurePropagation(bench, [1, 2, 4], options.trials);
      await save();
    }
    if (wants('connections')) {
      log('apiserver requests: a new connection each against kept connections');
      results.connections = await measureKubeConnections(bench, 400);
      await save();
    }
    if (wants('cost')) {
      log('leader renewal cost: 5 client-go leaders at the fleet’s timing (15 s leases, renewals every 2 s)');
      results.renewalCost = await measureRenewalCost(bench, 5, 150);
      await save();
    }
    if (wants('throughput') || wants('cost')) {
      log(`HTTP throughput at ${options.scales.join(', ')} leases`);
      results.throughput = await measureHttpThroughput(options.scales, log);
      await save();
      log(`ingest throughput at ${options.scales.join(', ')} leases`);
      const rows = results.throughput;
      await measureIngestThroughput(bench, options.scales, log, async (row) => {
        rows.push(row);
        await save();
      });
    }
  } finally {
    await bench.stop();
  }
}

const report = await save();
process.stdout.write(`${report}\nwritten: ${join(outDir, `${runName}.md`)} and plots in ${plotDir}\n`);
