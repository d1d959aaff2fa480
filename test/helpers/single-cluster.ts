import { Logger } from '@aws-lambda-powertools/logger';
import type { ClusterSource } from '../../lib/ports/cluster.js';
import type { CoordinatorDeps } from '../../lib/ports/coordinator.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import { ingestCandidate } from '../../lib/sync/ingest-candidate.js';
import { InMemoryCluster, type InMemoryClusterOptions } from './in-memory-cluster.js';
import { InMemoryTable } from './in-memory-store.js';

/**
 * One in-memory cluster, one in-memory table and one lease, for unit tests of ingest and the
 * coordinator: the clock moves only when the test moves it, and every store request is recorded.
 */
export function singleCluster(
  scope = 'c',
  name = 'solo',
  namespace = 'kube-system',
  /** The cluster's CoordinatedLeaderElection gate (InMemoryCluster); on by default. */
  clusterOptions: InMemoryClusterOptions = {},
  /** How far the cluster's clock (its electors' stamps) is ahead of ours; behind when negative. */
  clusterOffsetMs = 0,
) {
  let now = Date.UTC(2026, 6, 1, 12, 0, 0);
  const clock = () => now;
  const table = new InMemoryTable(clock);
  const cluster = new InMemoryCluster('c', clusterOffsetMs, clock, clusterOptions);
  const key: LeaseKey = { scope, namespace, name };
  const requests: string[] = [];
  const store = table.store(async (request) => {
    requests.push(request);
  });
  const clusters: ClusterSource = { get: async () => cluster.port() };
  const deps = {
    store,
    clock,
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    leases: () => key,
    clusters,
    timers: { deliverAt: async () => {} },
  } satisfies CoordinatorDeps & { clusters: ClusterSource };
  /** The candidate renews in its cluster (created on first use), and ingest carries it into the table. */
  const heartbeat = async (candidate: string, emulationVersion: string) => {
    cluster.heartbeat({
      namespace,
      name: candidate,
      leaseName: name,
      binaryVersion: '1.31.0',
      emulationVersion,
      strategy: 'OldestEmulationVersion',
    });
    const raw = cluster.get('LeaseCandidate', { namespace, name: candidate }) ?? {};
    return ingestCandidate(deps, 'c', 'MODIFIED', raw);
  };
  return {
    table,
    cluster,
    key,
    store,
    deps,
    requests,
    heartbeat,
    clock,
    advance: (ms: number) => {
      now += ms;
    },
  };
}
