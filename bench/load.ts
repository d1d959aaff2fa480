import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startLocalCoordinator } from '../lib/local/local-coordinator.js';
import { ClosedLoopHeartbeats, ceilingOf } from './load-baseline.js';
import { KeepAliveClient } from './load-client.js';
import { CANDIDATES_PER_LEASE, HEARTBEAT_PATH, HeartbeatGenerator } from './load-generator.js';
import { Monitor, StreamObserver } from './load-monitor.js';
import { parseLoadOptions } from './load-options.js';
import { findJavaChild } from './load-proc.js';
import { LeaseRenewer } from './load-renewer.js';
import { renderLoadRun } from './load-report.js';
import { verifyHeartbeats } from './load-verify.js';

const SAMPLE_EVERY_MS = 5000;
/** Untimed writes each way before the first timed phase. */
const WARM_UP_SECONDS = 10;
/** A drain that runs longer than this is a stream that does not catch up: stuck. */
const DRAIN_LIMIT_MS = 10 * 60_000;

async function timedOut(work: Promise<void>, limitMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), limitMs);
  });
  try {
    return await Promise.race([work.then(() => false), limit]);
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<number> {
  const options = parseLoadOptions(process.argv.slice(2));
  const startedAt = new Date();
  const loadAverageAtStart = loadavg();
  const observer = new StreamObserver();
  const coordinator = await startLocalCoordinator({
    autonomous: true,
    logLevel: 'ERROR',
    observe: observer.observe,
  });
  const client = new KeepAliveClient(coordinator.url, options.connections);
  let stopped = false;
  try {
    const jvmPid = findJavaChild();
    if (jvmPid === undefined)
      throw new Error('could not find the DynamoDB Local JVM among our child processes');
    const generator = new HeartbeatGenerator(
      client,
      options.candidates,
      options.ratePerCandidate,
      options.duration,
    );
    const closed = new ClosedLoopHeartbeats(
      coordinator.deps,
      client,
      HEARTBEAT_PATH,
      generator.lastSent,
      generator.lastAcked,
      jvmPid,
    );
    const monitor = new Monitor(
      jvmPid,
      coordinator.streams,
      observer,
      () => generator.counts.byOutcome.ok + closed.writes,
      () => generator.startedAt || performance.now(),
    );
    const leases = Math.ceil(options.candidates / CANDIDATES_PER_LEASE);
    console.error(
      `load: ${options.candidates} candidates (${leases} leases) against ${coordinator.url} (JVM pid ${jvmPid}); each candidate's first heartbeat straight to the table, then the elections`,
    );
    await closed.seed(options.connections);
    await coordinator.streams.drain();
    const renewer = options.renew ? new LeaseRenewer(client, leases, options.renewEvery) : undefined;
    renewer?.start(performance.now());
    // Untimed: both ways' code warm (JIT), the elections of the first heartbeats done.
    await closed.measure(closed.table, options.connections, WARM_UP_SECONDS);
    await closed.measure(closed.http, options.connections, WARM_UP_SECONDS);
    console.error(
      `load: the table alone before the HTTP load: the heartbeat's own write, ${options.connections} in flight for ${options.baselineSeconds} s`,
    );
    const before = await closed.measure(closed.table, options.connections, options.baselineSeconds);
    console.error(
      `load: ${options.candidates} candidates x ${options.ratePerCandidate}/s over HTTP for ${options.duration} s`,
    );
    const run = generator.run();
    monitor.start(SAMPLE_EVERY_MS);
    const first = monitor.sample();
    const progress = setInterval(() => {
      const s = monitor.samples.at(-1) ?? first;
      console.error(
        `  t=${s.t.toFixed(0)}s 2xx=${generator.counts.byOutcome.ok} in-flight=${generator.inFlightNow} backlog=${s.backlog} node=${s.cpu.node.toFixed(0)}% jvm=${s.cpu.jvm.toFixed(0)}% loop=${(100 * s.elu).toFixed(0)}%`,
      );
    }, 10_000);
    await run;
    clearInterval(progress);
    monitor.stop();
    const last = monitor.sample();
    const elapsedSeconds = last.t;
    console.error(
      `load: the table alone after the HTTP load, ${options.connections} in flight for ${options.baselineSeconds} s`,
    );
    const after = await closed.measure(closed.table, options.connections, options.baselineSeconds);
    console.error(
      `load: ${options.rounds} rounds of ${options.roundSeconds} s the table alone, then ${options.roundSeconds} s HTTP, ${options.connections} in flight each`,
    );
    const rounds = await closed.alternate(options.connections, options.rounds, options.roundSeconds);
    const ceiling = ceilingOf(before, after, rounds);
    await renewer?.stop();
    console.error('load: all heartbeats answered; draining the stream and reading every lease back');

    const backlogBeforeDrain = last.backlog;
    const drainStart = performance.now();
    const drainTimedOut = await timedOut(coordinator.streams.drain(), DRAIN_LIMIT_MS);
    const drainSeconds = (performance.now() - drainStart) / 1000;
    const backlogAfterDrain = generator.counts.byOutcome.ok + closed.writes - observer.heartbeatRecords;
    const verification = await verifyHeartbeats(coordinator.deps.store, generator.lastAcked);
    client.close();
    await coordinator.stop();
    stopped = true;

    const verdict = renderLoadRun({
      options,
      startedAt,
      machine: {
        cores: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        loadAverageAtStart,
        node: process.version,
      },
      leases,
      renewals: renewer?.counts,
      ceiling,
      elapsedSeconds,
      counts: generator.counts,
      okPerSecond: generator.okPerSecond,
      sentPerSecond: generator.sentPerSecond,
      latency: generator.latency,
      sendDelay: generator.sendDelay,
      samples: monitor.samples,
      stream: {
        heartbeatRecords: observer.heartbeatRecords,
        backlogBeforeDrain,
        drainSeconds,
        drainTimedOut,
        backlogAfterDrain,
        electBatches: coordinator.streams.invocations.batches,
        electRecords: coordinator.streams.invocations.records,
        byChange: observer.byChange,
      },
      verification,
    });
    mkdirSync(options.out, { recursive: true });
    const file = join(options.out, `load-${startedAt.toISOString().slice(0, 10)}.md`);
    writeFileSync(file, verdict.markdown);
    console.log(verdict.table);
    console.log(`\nreport: ${file}`);
    if (verdict.failures.length > 0) {
      console.log(`FAIL: ${verdict.failures.join('; ')}`);
      return 1;
    }
    console.log('PASS: no heartbeat lost, stream not stuck');
    return 0;
  } finally {
    if (!stopped) {
      client.close();
      await coordinator.stop();
    }
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
