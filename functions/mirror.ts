import type { DynamoDBStreamHandler } from 'aws-lambda';
import { handleMirrorBatch } from '../lib/handlers/mirror.js';
import { flushAfter } from '../lib/metrics/emf-metrics.js';
import { deployedClusterDeps, deployedDeps } from '../lib/runtime/deps.js';
import { buildDuringInit } from '../lib/runtime/init-phase.js';

// The clusters config and, if it names a cluster reached over Kubernetes, the cluster wiring:
// loaded while Lambda initializes the container, not by its first call (lib/runtime/init-phase.ts).
await buildDuringInit(deployedDeps);

/** Without a cluster to write into, every record is done: nothing is retried or parked. */
export const handler: DynamoDBStreamHandler = async (event) => {
  const clusters = await deployedClusterDeps();
  if (clusters === undefined) return { batchItemFailures: [] };
  return flushAfter((await deployedDeps()).metrics, () =>
    handleMirrorBatch(clusters, event, undefined, (cluster) => clusters.clusters.httpOnly(cluster)),
  );
};
