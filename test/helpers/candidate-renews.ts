import type { LeaseKey } from '../../lib/ports/lease-key.js';
import { ingestCandidate } from '../../lib/sync/ingest-candidate.js';
import type { InMemoryCluster } from './in-memory-cluster.js';

/**
 * A client-go candidate for `key` renews its LeaseCandidate in `cluster` (created on first use),
 * and ingest carries it into the table, as the watch event would.
 */
export async function candidateRenews(
  deps: Parameters<typeof ingestCandidate>[0],
  cluster: InMemoryCluster,
  key: LeaseKey,
  name: string,
  emulationVersion: string,
) {
  cluster.heartbeat({
    namespace: key.namespace,
    name,
    leaseName: key.name,
    binaryVersion: '1.31.0',
    emulationVersion,
    strategy: 'OldestEmulationVersion',
  });
  return ingestCandidate(deps, key.scope, 'MODIFIED', cluster.get('LeaseCandidate', { ...key, name }) ?? {});
}
