import { startPackagedCoordinatedClusters } from '../../lib/harness/coordinated-clusters.js';
import { describeHttpHolder } from './http-holder.js';

/** As deployed, where the product is for: the packaged bundles, over a managed cluster (the gate off). */
describeHttpHolder(
  {
    name: 'packaged bundles (npm start -- --packaged)',
    start: (gate, httpCallers) => startPackagedCoordinatedClusters(['alpha'], [], { gate, httpCallers }),
  },
  'off',
);
