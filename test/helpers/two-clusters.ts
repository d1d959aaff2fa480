import { Logger } from '@aws-lambda-powertools/logger';
import { handleSweep } from '../../lib/handlers/sweep.js';
import type { ClusterSource } from '../../lib/ports/cluster.js';
import type { CoordinatorDeps } from '../../lib/ports/coordinator.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import { holderLeaseReader } from '../../lib/sync/holder-lease-reader.js';
import { ingestCandidate } from '../../lib/sync/ingest-candidate.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { InMemoryCluster, type InMemoryClusterOptions } from './in-memory-cluster.js';
import { InMemoryTable } from './in-memory-store.js';

export type PairCluster = 'a' | 'b';

/**
 * Leases grouped over clusters "a" and "b" (scope "a+b"), an in-memory table, and clusters that
 * the test can cut off from the coordinator. The clock moves only when the test moves it; every
 * request to a cluster is recorded as "<cluster>:<kind>", every table request by its name, and
 * every timer armed by its due time.
 */
export function twoClusters(
  /** Each cluster's CoordinatedLeaderElection gate and CRD (InMemoryCluster); gate on by default. */
  options: { readonly a?: InMemoryClusterOptions; readonly b?: InMemoryClusterOptions } = {},
) {
  let now = Date.UTC(2026, 10, 25, 12);
  const clock = () => now;
  const table = new InMemoryTable(clock);
  const tableRequests: string[] = [];
  const store = table.store(async (request) => {
    tableRequests.push(request);
  });
  const planes = {
    a: new InMemoryCluster('a', 0, clock, options.a),
    b: new InMemoryCluster('b', 0, clock, options.b),
  };
  const requests: string[] = [];
  const down = new Set<string>();
  const clusters: ClusterSource = {
    get: async (name) => {
      if (down.has(name)) throw new Error(`connect ECONNREFUSED (cluster ${name})`);
      return planes[name as PairCluster].port(async (what) => {
        if (down.has(name)) throw new Error(`connect ECONNREFUSED (cluster ${name})`);
        requests.push(what);
      });
    },
  };
  const keyOf = (name: string, namespace = 'kube-system'): LeaseKey => ({ scope: 'a+b', namespace, name });
  const armed: number[] = [];
  const deps = {
    store,
    clock,
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    leases: (_cluster: string, namespace: string, name: string) => keyOf(name, namespace),
    clusters,
    timers: { deliverAt: async (_key: LeaseKey, dueAt: number) => void armed.push(dueAt) },
    readHolderLease: holderLeaseReader(clusters),
  } satisfies CoordinatorDeps & { clusters: ClusterSource };
  /** A candidate renews its LeaseCandidate in its own cluster, and ingest carries it into the table. */
  const heartbeat = (cluster: PairCluster, key: LeaseKey, name: string, emulationVersion: string) => {
    planes[cluster].heartbeat({
      namespace: key.namespace,
      name,
      leaseName: key.name,
      // Newer than any emulation version the tests use, so every candidate is valid.
      binaryVersion: '1.35.0',
      emulationVersion,
      strategy: 'OldestEmulationVersion',
    });
    const raw = planes[cluster].get('LeaseCandidate', { namespace: key.namespace, name }) ?? {};
    return ingestCandidate(deps, cluster, 'MODIFIED', raw);
  };
  return {
    deps,
    store,
    planes,
    requests,
    tableRequests,
    armed,
    keyOf,
    heartbeat,
    holder: async (key: LeaseKey) => (await store.loadLease(key)).lease?.record.holderIdentity,
    cut: (cluster: PairCluster) => down.add(cluster),
    heal: (cluster: PairCluster) => down.delete(cluster),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/**
 * twoClusters with one lease grouped over "a" and "b": "old" (1.34) holds it from "a", elected by
 * a sweep and mirrored into both clusters, and "next" (1.35) stands by in "a".
 */
export async function heldByOld() {
  const fixture = twoClusters();
  const key = fixture.keyOf('kube-scheduler');
  await fixture.heartbeat('a', key, 'old', '1.34.0');
  await fixture.heartbeat('a', key, 'next', '1.35.0');
  await handleSweep(fixture.deps);
  await mirrorLease(fixture.deps, key);
  return { ...fixture, key };
}
