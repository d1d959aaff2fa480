import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { ingestClusters } from '../../lib/handlers/ingest.js';
import { anyCaller } from '../../lib/http/callers.js';
import type { ClusterPort } from '../../lib/ports/cluster.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import type { CoordinatorStore } from '../../lib/ports/store.js';
import { wireCoordinator } from '../../lib/wiring/coordinator.js';
import { InMemoryCluster } from '../helpers/in-memory-cluster.js';
import { InMemoryTable } from '../helpers/in-memory-store.js';

const KEY: LeaseKey = { scope: 'c', namespace: 'kube-system', name: 'solo' };

/**
 * One run of ingest as every runtime starts it (ingestClusters: the deployed schedule and the local
 * runtime alike), over the one wiring, until `done` holds after some stored event.
 */
async function runIngest(
  store: CoordinatorStore,
  port: ClusterPort,
  now: number,
  done: () => Promise<boolean>,
) {
  const deps = wireCoordinator({
    store,
    timers: { deliverAt: async () => {} },
    clock: () => now,
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    policies: { leases: () => KEY, callers: anyCaller },
    clients: { get: async () => port, names: () => ['c'], httpOnly: () => false },
  });
  const clusters = deps.clusterWiring;
  if (clusters === undefined) throw new Error('a registered cluster must give a cluster wiring');
  const stop = new AbortController();
  await ingestClusters(deps, clusters, stop.signal, {
    onEvent: () => void done().then((yes) => yes && stop.abort()),
  });
}

describe('ingest as every runtime runs it (unit: in-memory table and cluster)', () => {
  it('seeds its first list from the table: a new run writes only the candidates that changed since the last', async () => {
    let now = Date.UTC(2026, 11, 3, 12);
    const table = new InMemoryTable(() => now);
    const store = table.store();
    const cluster = new InMemoryCluster('c', 0, () => now);
    const renew = (name: string) =>
      cluster.heartbeat({
        namespace: KEY.namespace,
        name,
        leaseName: KEY.name,
        binaryVersion: '1.31.0',
        emulationVersion: '1.31.0',
        strategy: 'OldestEmulationVersion',
      });
    for (const name of ['a', 'b', 'c']) renew(name);
    const port = cluster.port();
    // No watch events: each run sees the cluster through its first list alone.
    port.watch = async () => new AbortController();
    await runIngest(store, port, now, async () => (await store.loadLease(KEY)).candidates.length === 3);

    now += 1_000;
    renew('b');
    const written: string[] = [];
    const counting: CoordinatorStore = Object.create(store);
    counting.putHeartbeat = async (...args) => {
      written.push(args[2].name);
      return store.putHeartbeat(...args);
    };
    const renewedB = async () =>
      (await store.loadLease(KEY)).candidates.find((c) => c.name === 'b')?.sentRenewTime === now;
    await runIngest(counting, port, now, renewedB);
    expect(written).toEqual(['b']);
  });
});
