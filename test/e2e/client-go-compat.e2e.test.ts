import { startCoordinatedClusters } from '../../lib/harness/coordinated-clusters.js';
import { describeClientGoCompat } from './client-go-compat.js';

describeClientGoCompat({
  name: 'coordinator from sources (npm start)',
  start: async (groups, activity) => {
    const clusters = await startCoordinatedClusters(['alpha', 'beta'], groups, { onIngest: activity });
    return {
      ...clusters,
      candidateNames: async (key) =>
        (await clusters.coordinator.deps.store.loadLease(key)).candidates.map((c) => c.name),
    };
  },
});
