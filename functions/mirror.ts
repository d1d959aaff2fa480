import type { DynamoDBStreamHandler } from 'aws-lambda';
import { handleMirrorBatch } from '../lib/handlers/mirror.js';
import { deployedClusterDeps } from '../lib/runtime/deps.js';

/** Without a cluster to write into, every record is done: nothing is retried or parked. */
export const handler: DynamoDBStreamHandler = async (event) => {
  const clusters = await deployedClusterDeps();
  if (clusters === undefined) return { batchItemFailures: [] };
  return handleMirrorBatch(clusters, event, undefined, (cluster) => clusters.clusters.httpOnly(cluster));
};
