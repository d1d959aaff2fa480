import type { ScheduledHandler } from 'aws-lambda';
import { handleSweepSchedule } from '../lib/handlers/sweep.js';
import { flushAfter } from '../lib/metrics/emf-metrics.js';
import { deployedDeps } from '../lib/runtime/deps.js';
import { buildDuringInit } from '../lib/runtime/init-phase.js';

// The clusters config and, if it names a cluster reached over Kubernetes, the cluster wiring:
// loaded while Lambda initializes the container, not by its first call (lib/runtime/init-phase.ts).
await buildDuringInit(deployedDeps);

export const handler: ScheduledHandler = async (_event, context) => {
  const deps = await deployedDeps();
  await flushAfter(deps.metrics, () => handleSweepSchedule(deps, context));
};
