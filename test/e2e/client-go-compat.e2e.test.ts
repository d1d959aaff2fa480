import { startCoordinatedClusters } from '../../lib/harness/coordinated-clusters.js';
import { describeClientGoCompat, FAILOVER_GOAL_MS } from './client-go-compat.js';

describeClientGoCompat({
  name: 'coordinator from sources (npm start)',
  failoverBoundMs: FAILOVER_GOAL_MS,
  start: async (groups, activity) => {
    const clusters = await startCoordinatedClusters(['alpha', 'beta'], groups, { onIngest: activity });
    return {
      ...clusters,
      candidateNames: async (key) =>
        (await clusters.coordinator.deps.store.loadLease(key)).candidates.map((c) => c.name),
    };
  },
});
