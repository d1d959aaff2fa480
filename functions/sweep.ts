import type { ScheduledHandler } from 'aws-lambda';
import { handleSweep, sweepAlone } from '../lib/handlers/sweep.js';
import { flushAfter } from '../lib/metrics/emf-metrics.js';
import { deployedDeps } from '../lib/runtime/deps.js';
import { clusterSweepPass } from '../lib/sync/cluster-sweep.js';

export const handler: ScheduledHandler = async (_event, context) => {
  const deps = await deployedDeps();
  const cluster = deps.cluster;
  const now = deps.clock();
  // Held until this invocation's deadline at most: a sweep that crashed blocks no later tick.
  const hold = { owner: context.awsRequestId, now, until: now + context.getRemainingTimeInMillis() };
  const result = await flushAfter(deps.metrics, () =>
    sweepAlone(deps.sweepLock, hold, deps.logger, () =>
      handleSweep(
        deps,
        context,
        cluster === undefined
          ? undefined
          : clusterSweepPass(cluster, deps.clock, (name) => cluster.registry.httpOnly(name)),
      ),
    ),
  );
  if (result !== undefined) deps.logger.info('sweep done', { ...result });
};
