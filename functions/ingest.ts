import type { ScheduledHandler } from 'aws-lambda';
import { handleIngestSchedule } from '../lib/handlers/ingest.js';
import { flushAfter } from '../lib/metrics/emf-metrics.js';
import { deployedClusterDeps, deployedDeps } from '../lib/runtime/deps.js';
import { buildDuringInit } from '../lib/runtime/init-phase.js';

// The clusters config and, if it names a cluster reached over Kubernetes, the cluster wiring:
// loaded while Lambda initializes the container, not by its first call (lib/runtime/init-phase.ts).
await buildDuringInit(deployedDeps);

/** Without a cluster reached over Kubernetes there is nothing to watch (see deployedClusterDeps). */
export const handler: ScheduledHandler = async (_event, context) => {
  const clusters = await deployedClusterDeps();
  if (clusters === undefined) return;
  const deps = await deployedDeps();
  await flushAfter(deps.metrics, () =>
    handleIngestSchedule(deps, clusters, context.getRemainingTimeInMillis()),
  );
};
