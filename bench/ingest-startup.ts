/**
 * How long a fresh `ingest` run takes before it watches (its lists, the table scan that seeds them,
 * the storing of what changed), and how long it takes to stop once its signal aborts, with N
 * leases coordinated in one real kube-apiserver: the figure the deployed schedule's overlap must
 * exceed (docs/reliability.md, "ingest's duty cycle").
 *
 *   npx tsx bench/ingest-startup.ts [leases=1000] [runs=5]
 *
 * Each lease has one candidate, elected and mirrored by the local coordinator first; each holder
 * then holds its Lease for an hour, so the runs measure a quiet cluster, as most minutes are.
 */
import { performance } from 'node:perf_hooks';
import pLimit from 'p-limit';
import { startCoordinatedClusters } from '../lib/harness/coordinated-clusters.js';
import type { ClusterPort, ClusterSource } from '../lib/ports/cluster.js';
import { storedCandidateVersions } from '../lib/sync/handled-versions.js';
import { runClusterIngest } from '../lib/sync/ingest-runner.js';
import { createCandidate, holdLease, leaseHeldBy } from './kube-objects.js';
import { summarize } from './stats.js';

const leases = Number(process.argv[2] ?? 1000);
const runs = Number(process.argv[3] ?? 5);
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

const clusters = await startCoordinatedClusters(['c1'], []);
try {
  const plane = clusters.planes[0];
  const { coordinator } = clusters;
  if (plane === undefined || coordinator.registry === undefined) throw new Error('no cluster');
  const limit = pLimit(32);
  log(`setting up ${leases} leases`);
  let done = 0;
  await Promise.all(
    Array.from({ length: leases }, (_, i) =>
      limit(async () => {
        await createCandidate(plane, `startup-c${i}`, `startup-${i}`, {
          binary: '1.35.0',
          emulation: '1.34.0',
        });
        await leaseHeldBy(plane, `startup-${i}`, `startup-c${i}`);
        await holdLease(plane, `startup-${i}`, 3600);
        if (++done % 500 === 0) log(`  ${done} held`);
      }),
    ),
  );
  await coordinator.streams.drain();
  await coordinator.mirror.drain();
  const registry = coordinator.registry;
  const toWatch: number[] = [];
  const toStop: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    let watching: number | undefined;
    let firstWatch: () => void = () => {};
    const watched = new Promise<void>((resolve) => {
      firstWatch = resolve;
    });
    // The registry's client, with its first watch timed.
    const timed: ClusterSource = {
      get: async (name) => {
        const client = await registry.get(name);
        return new Proxy(client, {
          get(target, property, receiver) {
            const value: unknown = Reflect.get(target, property, receiver);
            if (property === 'watch')
              return (...args: Parameters<ClusterPort['watch']>) => {
                watching ??= performance.now();
                firstWatch();
                return target.watch(...args);
              };
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
      },
    };
    const deps = { ...coordinator.deps, clusters: timed };
    const stop = new AbortController();
    const stored = storedCandidateVersions(deps.store);
    const ingest = runClusterIngest(deps, 'c1', stop.signal, {
      stored: stored.then((byCluster) => byCluster.get('c1')),
    });
    await watched;
    toWatch.push((watching as number) - started);
    const aborted = performance.now();
    stop.abort();
    await ingest;
    toStop.push(performance.now() - aborted);
    log(
      `run ${run + 1}: watching after ${Math.round(toWatch.at(-1) ?? 0)} ms, stopped ${Math.round(toStop.at(-1) ?? 0)} ms after the abort`,
    );
  }
  const fmt = (s: ReturnType<typeof summarize>) => JSON.stringify(s);
  process.stdout.write(
    `leases ${leases}, runs ${runs}\ntime to first watch (ms): ${fmt(summarize(toWatch))}\nstop after abort (ms): ${fmt(summarize(toStop))}\n`,
  );
} finally {
  await clusters.stop();
}
