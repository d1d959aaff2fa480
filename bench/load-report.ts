import type { Phase, TableCeiling } from './load-baseline.js';
import type { GeneratorCounts } from './load-generator.js';
import type { Sample } from './load-monitor.js';
import type { LoadOptions } from './load-options.js';
import { RENEW_LEASE_DURATION_SECONDS, type RenewalCounts } from './load-renewer.js';
import { type LatencyHistogram, quantile, slope } from './load-stats.js';
import type { Verification } from './load-verify.js';

export interface LoadRun {
  readonly options: LoadOptions;
  readonly startedAt: Date;
  readonly machine: { cores: number; cpuModel: string; loadAverageAtStart: number[]; node: string };
  readonly leases: number;
  /** The leaders' Lease renewals, when they ran. */
  readonly renewals: RenewalCounts | undefined;
  /** The table alone, measured right before and right after the HTTP load in the same coordinator: the baseline. */
  readonly ceiling: TableCeiling;
  /** Seconds from the first beat's slot to the last answer. */
  readonly elapsedSeconds: number;
  readonly counts: GeneratorCounts;
  readonly okPerSecond: Uint32Array;
  readonly sentPerSecond: Uint32Array;
  readonly latency: LatencyHistogram;
  readonly sendDelay: LatencyHistogram;
  readonly samples: readonly Sample[];
  readonly stream: {
    readonly heartbeatRecords: number;
    readonly backlogBeforeDrain: number;
    readonly drainSeconds: number;
    /** drain() did not return within its time limit. */
    readonly drainTimedOut: boolean;
    readonly backlogAfterDrain: number;
    readonly electBatches: number;
    readonly electRecords: number;
    readonly byChange: ReadonlyMap<string, number>;
  };
  readonly verification: Verification;
}

const WARM_UP_SECONDS = 30;
const MB = 1024 * 1024;

export interface Verdict {
  readonly failures: string[];
  readonly markdown: string;
  readonly table: string;
}

export function renderLoadRun(run: LoadRun): Verdict {
  const o = run.options;
  const target = o.candidates * o.ratePerCandidate;
  const ok = run.counts.byOutcome.ok;
  const httpRate = ok / run.elapsedSeconds;
  const fullSeconds = Array.from(run.okPerSecond.slice(1, Math.max(1, o.duration - 1)));
  const loadSamples = run.samples.filter((s) => s.t > 0 && s.t <= o.duration + 0.5);
  const warm = loadSamples.filter((s) => s.t >= WARM_UP_SECONDS);
  const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / Math.max(1, values.length);
  const maxBacklog = Math.max(0, ...loadSamples.map((s) => s.backlog));
  const maxStall = Math.max(0, ...run.samples.map((s) => s.stalledSeconds));
  const perMinute = (pick: (s: Sample) => number) =>
    slope(warm.map((s) => ({ x: s.t / 60, y: pick(s) / MB })));
  const first = run.samples[0];
  const middle = nearest(run.samples, o.duration / 2);
  const end = nearest(run.samples, o.duration);
  const v = run.verification;

  const failures: string[] = [];
  if (v.lost.length > 0) failures.push(`${v.lost.length} heartbeats lost (${v.lost.slice(0, 5).join(', ')})`);
  if (run.stream.backlogAfterDrain !== 0)
    failures.push(`stream stuck: ${run.stream.backlogAfterDrain} heartbeat records unread after drain`);
  if (run.stream.drainTimedOut) failures.push('stream stuck: drain() did not finish');
  if (v.undecided.length > 0)
    failures.push(`${v.undecided.length} leases never got a holder (${v.undecided.slice(0, 5).join(', ')})`);

  const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : 'n/a');
  const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
  const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
  const statuses = [...run.counts.byStatus.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, n]) => `${status === 0 ? 'network error' : status}: ${n}`)
    .join(', ');
  const tens: string[] = [];
  for (let s = 0; s < o.duration; s += 10) {
    const window = Array.from(run.okPerSecond.slice(s, Math.min(o.duration, s + 10)));
    tens.push(f0(mean(window)));
  }

  const rows: [string, string][] = [
    [
      'target rate',
      `${target}/s (${o.candidates} candidates x ${o.ratePerCandidate}/s, ${run.leases} leases)`,
    ],
    [
      'achieved rate (2xx, mean)',
      `${f1(ok / o.duration)}/s over ${o.duration} s (${f1((100 * ok) / (target * o.duration))} % of target)`,
    ],
    [
      'the table alone (the heartbeat write straight to the store)',
      `before ${tableAlone(run.ceiling.before)}; after ${tableAlone(run.ceiling.after)}`,
    ],
    [
      'HTTP heartbeats / the table alone',
      `${f2(httpRate / run.ceiling.perSecond)} against the faster of before and after (${f2(httpRate / run.ceiling.before.perSecond)} against before, ${f2(httpRate / run.ceiling.after.perSecond)} against after); HTTP: ${f1(httpRate)} 2xx/s over the ${f1(run.elapsedSeconds)} s from the first beat to the last answer`,
    ],
    ...roundRows(run),
    [
      'lease renewals by the leaders',
      run.renewals === undefined
        ? 'none (--no-renew): each lease runs out 5 s after each decision and is elected again'
        : `every ${o.renewEvery} s per lease, ${RENEW_LEASE_DURATION_SECONDS} s duration: ${run.renewals.sent} sent, ${run.renewals.ok} renewed, ${run.renewals.notHolder} not holder (409), ${run.renewals.other} other`,
    ],
    [
      'achieved rate per second',
      `min ${f0(quantile(fullSeconds, 0))}, p5 ${f0(quantile(fullSeconds, 0.05))}, median ${f0(quantile(fullSeconds, 0.5))}, max ${f0(quantile(fullSeconds, 1))}`,
    ],
    [
      'heartbeats sent / 2xx',
      `${run.counts.sent} / ${ok} (target ${target * o.duration}; coalesced while in flight: ${run.counts.coalesced})`,
    ],
    [
      'by outcome',
      `2xx ${ok}, 409 ${run.counts.byOutcome.conflict}, other 4xx ${run.counts.byOutcome['client-error']}, 5xx ${run.counts.byOutcome['server-error']}, network ${run.counts.byOutcome['network-error']}`,
    ],
    ['by status', statuses],
    [
      'HTTP latency',
      `p50 ${f1(run.latency.percentile(50))} ms, p95 ${f1(run.latency.percentile(95))} ms, p99 ${f1(run.latency.percentile(99))} ms, max ${f1(run.latency.max)} ms`,
    ],
    [
      'send delay vs slot',
      `p50 ${f1(run.sendDelay.percentile(50))} ms, p99 ${f1(run.sendDelay.percentile(99))} ms, max ${f1(run.sendDelay.max)} ms`,
    ],
    ['lost heartbeats', `${v.lost.length} (stored renewTime older than the newest 2xx; must be 0)`],
    ['stored but unanswered', `${v.unacknowledged.length} (write applied, answer not 2xx)`],
    [
      'leases decided (term >= 1)',
      `${v.leases - v.undecided.length} / ${v.leases}; holder set when read back: ${v.leases - v.leasesWithoutHolder.length}; sum of terms ${v.termSum}`,
    ],
    [
      'stream backlog, max during run',
      `${maxBacklog} heartbeat records (2xx answered minus read by the elect consumer)`,
    ],
    [
      'stream backlog at end',
      `${run.stream.backlogBeforeDrain} before drain; drain took ${f2(run.stream.drainSeconds)} s${run.stream.drainTimedOut ? ' (timed out)' : ''}; ${run.stream.backlogAfterDrain} after`,
    ],
    [
      'stream shards',
      `${run.samples.at(-1)?.shards ?? 0} seen; longest a readable shard's checkpoint stood still with records waiting: ${f1(maxStall)} s (a batch being handled holds it)`,
    ],
    [
      'elect invocations',
      `${run.stream.electBatches} batches, ${run.stream.electRecords} records (after filters)`,
    ],
    [
      'Node heap MB start/mid/end',
      `${mb(first?.nodeHeap)} / ${mb(middle?.nodeHeap)} / ${mb(end?.nodeHeap)}; slope ${f2(perMinute((s) => s.nodeHeap))} MB/min`,
    ],
    [
      'Node RSS MB start/mid/end',
      `${mb(first?.nodeRss)} / ${mb(middle?.nodeRss)} / ${mb(end?.nodeRss)}; slope ${f2(perMinute((s) => s.nodeRss))} MB/min`,
    ],
    [
      'JVM RSS MB start/mid/end',
      `${mb(first?.jvmRss)} / ${mb(middle?.jvmRss)} / ${mb(end?.jvmRss)}; slope ${f2(perMinute((s) => s.jvmRss))} MB/min`,
    ],
  ];
  const lastSample = run.samples.at(-1);
  if (lastSample !== undefined && lastSample.t > 0) {
    const c = lastSample.cpuSeconds;
    const share = (seconds: number) => f0((100 * seconds) / lastSample.t);
    rows.push([
      'CPU, % of one core (mean)',
      `Node ${share(c.node)} (main thread ${share(c.nodeMain)}, event loop busy ${f0(100 * lastSample.eluSinceStart)} % of wall time), JVM ${share(c.jvm)}, other processes ${share(Math.max(0, c.machine - c.node - c.jvm))}; whole machine ${share(c.machine)} of ${100 * run.machine.cores}`,
    ]);
    rows.push([
      'CPU per 2xx heartbeat',
      `Node ${f2((1000 * lastSample.cpuSeconds.node) / ok)} ms, JVM ${f2((1000 * lastSample.cpuSeconds.jvm) / ok)} ms (whole run, including the stream consumer and elections)`,
    ]);
  }
  const warmFirst = warm[0];
  const warmLast = warm.at(-1);
  if (warmFirst !== undefined && warmLast !== undefined && warmLast.acked > warmFirst.acked) {
    const beats = warmLast.acked - warmFirst.acked;
    const per = (pick: (s: Sample) => number) => (1000 * (pick(warmLast) - pick(warmFirst))) / beats;
    const node = per((s) => s.cpuSeconds.node);
    const main = per((s) => s.cpuSeconds.nodeMain);
    const jvm = per((s) => s.cpuSeconds.jvm);
    rows.push([
      `CPU per 2xx after ${WARM_UP_SECONDS} s`,
      `Node ${f2(node)} ms (main thread ${f2(main)} ms), JVM ${f2(jvm)} ms`,
    ]);
    rows.push([
      'ceiling implied by CPU cost',
      `${f0((1000 * run.machine.cores) / (node + jvm))}/s with all ${run.machine.cores} cores to ourselves; Node main thread alone ${f0(1000 / main)}/s; JVM alone on all cores ${f0((1000 * run.machine.cores) / jvm)}/s`,
    ]);
  }
  const table = rows.map(([k, val]) => `${k.padEnd(32)} ${val}`).join('\n');

  const markdown = [
    `# Load: ${o.candidates} candidates x ${o.ratePerCandidate}/s for ${o.duration} s`,
    '',
    `Run ${run.startedAt.toISOString()} with \`npx tsx bench/load.ts --candidates ${o.candidates} --rate-per-candidate ${o.ratePerCandidate} --duration ${o.duration} --connections ${o.connections} ${o.renew ? `--renew-every ${o.renewEvery}` : '--no-renew'} --baseline-seconds ${o.baselineSeconds} --rounds ${o.rounds} --round-seconds ${o.roundSeconds}\`.`,
    `Machine: ${run.machine.cores} cores (${run.machine.cpuModel}), shared with other users' processes; load average ${run.machine.loadAverageAtStart.map((n) => n.toFixed(2)).join(' ')} at start; Node ${run.machine.node}.`,
    'Local stack in one Node process (HTTP API, elect stream runner, timers, and the load generator itself) plus the DynamoDB Local JVM.',
    "Order: each candidate's first heartbeat straight to the table and the elections it wakes (untimed); the table alone; the HTTP load; the table alone again. Then the alternating rounds, closed loops both ways. The leaders' renewals and the stream consumers run through every timed phase.",
    '',
    `Verdict: ${failures.length === 0 ? 'PASS (nothing lost, stream not stuck)' : `FAIL: ${failures.join('; ')}`}`,
    '',
    '| measure | value |',
    '| --- | --- |',
    ...rows.map(([k, val]) => `| ${k} | ${val} |`),
    '',
    `Achieved 2xx per second, mean of each 10 s window: ${tens.join(' ')}`,
    '',
    'Stream records read by the elect consumer, by event and kind/change:',
    '',
    ...[...run.stream.byChange.entries()].sort().map(([label, n]) => `- ${label}: ${n}`),
    '',
    'Samples (every 5 s; CPU in % of one core over the preceding interval):',
    '',
    '| t s | 2xx so far | backlog | Node heap MB | Node RSS MB | JVM RSS MB | Node CPU | main thread | loop busy | JVM CPU | others CPU |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...run.samples.map(
      (s) =>
        `| ${f0(s.t)} | ${s.acked} | ${s.backlog} | ${mb(s.nodeHeap)} | ${mb(s.nodeRss)} | ${mb(s.jvmRss)} | ${f0(s.cpu.node)} | ${f0(s.cpu.nodeMain)} | ${f0(100 * s.elu)} % | ${f0(s.cpu.jvm)} | ${f0(s.cpu.others)} |`,
    ),
    '',
    `Slopes are least squares over the samples from ${WARM_UP_SECONDS} s to the end of the load.`,
    ...(run.counts.networkErrors.length > 0
      ? ['', `Network errors (first few): ${run.counts.networkErrors.join('; ')}`]
      : []),
    '',
  ].join('\n');
  return { failures, markdown, table };
}

/**
 * The alternating rounds: each pair runs the table alone and then HTTP for a few seconds each, with
 * the same in flight, so both see nearly the same machine; the median of the pairs' ratios is the
 * figure, the spread shows how much the machine moved under us.
 */
function roundRows(run: LoadRun): [string, string][] {
  const { table, http } = run.ceiling.rounds;
  const ratios = http.map((h, i) => h.perSecond / (table[i]?.perSecond ?? Number.NaN));
  const mean = (phases: Phase[], pick: (p: Phase) => number) =>
    phases.reduce((s, p) => s + pick(p), 0) / Math.max(1, phases.length);
  const cpu = (phases: Phase[]) =>
    `Node ${mean(phases, (p) => p.cpuPerWrite.node).toFixed(2)} ms, JVM ${mean(phases, (p) => p.cpuPerWrite.jvm).toFixed(2)} ms`;
  const cost = (phases: Phase[]) => mean(phases, (p) => p.cpuPerWrite.node + p.cpuPerWrite.jvm);
  return [
    [
      'alternating rounds, HTTP / the table alone',
      `median ${quantile(ratios, 0.5).toFixed(2)} (min ${quantile(ratios, 0).toFixed(2)}, max ${quantile(ratios, 1).toFixed(2)}) over ${ratios.length} pairs of ${run.options.roundSeconds} s, ${run.options.connections} in flight; per pair: ${http.map((h, i) => `${h.perSecond.toFixed(0)}/${(table[i]?.perSecond ?? 0).toFixed(0)}`).join(', ')} writes/s`,
    ],
    [
      'alternating rounds, CPU per write',
      `HTTP ${cpu(http)}; the table alone ${cpu(table)}; the table alone / HTTP by Node + JVM CPU ${(cost(table) / cost(http)).toFixed(2)} (with the renewals, timers and stream poll each phase carries)`,
    ],
  ];
}

/** One table-alone phase: its rate and what each write cost this process and the JVM. */
function tableAlone(t: Phase): string {
  return `${t.perSecond.toFixed(0)} writes/s (${t.inFlight} in flight, ${t.seconds.toFixed(0)} s; CPU per write Node ${t.cpuPerWrite.node.toFixed(2)} ms, JVM ${t.cpuPerWrite.jvm.toFixed(2)} ms)`;
}

function nearest(samples: readonly Sample[], t: number): Sample | undefined {
  let best: Sample | undefined;
  for (const s of samples) if (best === undefined || Math.abs(s.t - t) < Math.abs(best.t - t)) best = s;
  return best;
}

function mb(bytes: number | undefined): string {
  return bytes === undefined || !Number.isFinite(bytes) ? 'n/a' : (bytes / MB).toFixed(1);
}
