import type { SQSHandler } from 'aws-lambda';
import { handleTimerBatch } from '../lib/handlers/timer.js';
import { flushAfter } from '../lib/metrics/emf-metrics.js';
import { deployedDeps } from '../lib/runtime/deps.js';
import { buildDuringInit } from '../lib/runtime/init-phase.js';

// The clusters config and, if it names a cluster reached over Kubernetes, the cluster wiring:
// loaded while Lambda initializes the container, not by its first call (lib/runtime/init-phase.ts).
await buildDuringInit(deployedDeps);

/** With clusters configured, what a deadline decides is mirrored at once (see handleTimerBatch). */
export const handler: SQSHandler = async (event, context) => {
  const deps = await deployedDeps();
  return flushAfter(deps.metrics, () =>
    handleTimerBatch(deps, event, deps.clusterWiring, () => context.getRemainingTimeInMillis()),
  );
};
