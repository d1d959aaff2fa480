import type { SQSHandler } from 'aws-lambda';
import { handleTimerBatch } from '../lib/handlers/timer.js';
import { flushAfter } from '../lib/metrics/emf-metrics.js';
import { deployedDeps } from '../lib/runtime/deps.js';

/** With clusters configured, what a deadline decides is mirrored at once (see handleTimerBatch). */
export const handler: SQSHandler = async (event, context) => {
  const deps = await deployedDeps();
  return flushAfter(deps.metrics, () =>
    handleTimerBatch(deps, event, deps.clusterWiring, () => context.getRemainingTimeInMillis()),
  );
};
