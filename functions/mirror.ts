import type { DynamoDBStreamHandler } from 'aws-lambda';
import { handleMirrorBatch } from '../lib/handlers/mirror.js';
import { flushAfter } from '../lib/metrics/emf-metrics.js';
import { deployedClusterDeps, deployedDeps } from '../lib/runtime/deps.js';

/** Without a cluster to write into, every record is done: nothing is retried or parked. */
export const handler: DynamoDBStreamHandler = async (event) => {
  const clusters = await deployedClusterDeps();
  if (clusters === undefined) return { batchItemFailures: [] };
  return flushAfter((await deployedDeps()).metrics, () =>
    handleMirrorBatch(clusters, event, undefined, (cluster) => clusters.clusters.httpOnly(cluster)),
  );
};
