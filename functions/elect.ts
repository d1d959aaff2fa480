import type { DynamoDBStreamHandler } from 'aws-lambda';
import { handleStreamBatch } from '../lib/handlers/elect.js';
import { flushAfter } from '../lib/metrics/emf-metrics.js';
import { deployedDeps } from '../lib/runtime/deps.js';

export const handler: DynamoDBStreamHandler = async (event) => {
  const deps = await deployedDeps();
  return flushAfter(deps.metrics, () => handleStreamBatch(deps, event));
};
