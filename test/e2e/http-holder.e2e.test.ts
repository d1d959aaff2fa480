import { startCoordinatedClusters } from '../../lib/harness/coordinated-clusters.js';
import { describeHttpHolder, type HttpHolderRuntime } from './http-holder.js';

const sources: HttpHolderRuntime = {
  name: 'coordinator (npm start)',
  start: (gate, httpCallers) => startCoordinatedClusters(['alpha'], [], { gate, httpCallers }),
};

describeHttpHolder(sources, 'on');
describeHttpHolder(sources, 'off');
