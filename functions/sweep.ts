import type { ScheduledHandler } from 'aws-lambda';
import { handleSweep } from '../lib/handlers/sweep.js';
import { deployedDeps } from '../lib/runtime/deps.js';
import { clusterSweepPass } from '../lib/sync/cluster-sweep.js';

export const handler: ScheduledHandler = async (_event, context) => {
  const deps = await deployedDeps();
  const cluster = deps.cluster;
  const result = await handleSweep(
    deps,
    context,
    cluster === undefined ? undefined : clusterSweepPass(cluster, deps.clock),
  );
  deps.logger.info('sweep done', { ...result });
};
