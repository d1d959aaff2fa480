import {
  type CoordinatedClusters,
  type CoordinatedClustersOptions,
  startCoordinatedClusters,
} from '../../lib/harness/coordinated-clusters.js';
import { CandidatePods } from './candidate-pods.js';
import { LeaseWatch } from './lease-watch.js';

export type GroupCluster = 'alpha' | 'beta';

/** Clusters alpha and beta with one lease group over both, the pods that stand for it, and a watch of its Lease. */
export interface LeaseGroupStack {
  readonly clusters: CoordinatedClusters;
  readonly pods: CandidatePods;
  readonly leases: LeaseWatch<GroupCluster>;
  /** The watch, every pod, the coordinator and the clusters stopped. */
  stop(): Promise<void>;
}

/**
 * What an e2e file about one lease group starts from: `startCoordinatedClusters` over alpha and beta
 * with the lease `default/<lease>` grouped over both, pods started with the given client-go timings,
 * and every event of that Lease in both clusters.
 */
export async function startLeaseGroup(
  lease: string,
  timings: readonly string[],
  options: CoordinatedClustersOptions,
): Promise<LeaseGroupStack> {
  const clusters = await startCoordinatedClusters(
    ['alpha', 'beta'],
    [{ namespace: 'default', name: lease, clusters: ['alpha', 'beta'] }],
    options,
  );
  const pods = new CandidatePods(clusters, timings);
  const leases = await LeaseWatch.start<GroupCluster>(
    clusters.adminKubeconfig,
    ['alpha', 'beta'],
    lease,
  ).catch(async (error: unknown) => {
    await clusters.stop();
    throw error;
  });
  return {
    clusters,
    pods,
    leases,
    stop: async () => {
      leases.stop();
      await pods.stopAll();
      await clusters.stop();
    },
  };
}
