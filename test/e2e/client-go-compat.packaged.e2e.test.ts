import { describeClientGoCompat, FAILOVER_GOAL_MS } from './client-go-compat.js';
import { startPackagedCoordinatedClusters } from './coordinated-clusters.js';

/**
 * The same scenarios against what `serverless deploy` ships: the packaged bundles in Lambda-like
 * containers, whole-second SQS delays, the minute schedules (npm start -- --packaged).
 */
describeClientGoCompat({
  name: 'packaged bundles (npm start -- --packaged)',
  failoverBoundMs: FAILOVER_GOAL_MS,
  start: async (groups, activity) => {
    const clusters = await startPackagedCoordinatedClusters(['alpha', 'beta'], groups, { observe: activity });
    return {
      ...clusters,
      candidateNames: async (key) =>
        (await clusters.coordinator.store.loadLease(key)).candidates.map((c) => c.name),
    };
  },
});
