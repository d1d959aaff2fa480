import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import type { LeaseKey } from '../../lib/coordinator/ports.js';
import { runClusterIngest } from '../../lib/sync/ingest-runner.js';
import { InMemoryCluster } from '../helpers/in-memory-cluster.js';
import { InMemoryTable } from '../helpers/in-memory-store.js';

const KEY: LeaseKey = { scope: 'c', namespace: 'kube-system', name: 'solo' };

describe('cluster ingest, list then watch (unit: in-memory table and cluster)', () => {
  it('relists when an object of the list could not be stored, so it is not left out until the next change', async () => {
    const now = Date.UTC(2026, 10, 25, 12);
    const table = new InMemoryTable(() => now);
    let failures = 1;
    const store = table.store(async (request) => {
      // The table refuses the first candidate write, as a throttled table would.
      if (request.startsWith('putHeartbeat') && failures-- > 0) throw new Error('throttled');
    });
    const cluster = new InMemoryCluster('c', 0, () => now);
    cluster.heartbeat({
      namespace: KEY.namespace,
      name: 'a',
      leaseName: KEY.name,
      binaryVersion: '1.31.0',
      emulationVersion: '1.31.0',
      strategy: 'OldestEmulationVersion',
    });
    const lists: string[] = [];
    const port = cluster.port(async (request) => {
      if (request.endsWith('listCandidates')) lists.push(request);
    });
    // No live watch here: one that stays open and says nothing.
    port.watch = async () => new AbortController();
    const stop = new AbortController();
    const stored = new Promise<void>((resolve) => {
      const ingest = runClusterIngest(
        {
          store,
          clock: () => now,
          logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
          leases: () => KEY,
          clusters: { get: async () => port },
        },
        'c',
        stop.signal,
        { onEvent: () => resolve() },
      );
      void ingest;
    });
    await stored;
    stop.abort();
    expect(failures).toBeLessThan(0);
    expect(lists.length).toBe(2);
    expect((await store.loadLease(KEY)).candidates.map((c) => c.name)).toEqual(['a']);
  });
});
