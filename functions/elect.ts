import type { DynamoDBStreamHandler } from 'aws-lambda';
import { handleStreamBatch } from '../lib/handlers/elect.js';
import { flushAfter } from '../lib/metrics/emf-metrics.js';
import { deployedDeps } from '../lib/runtime/deps.js';
import { buildDuringInit } from '../lib/runtime/init-phase.js';

// The clusters config and, if it names a cluster reached over Kubernetes, the cluster wiring:
// loaded while Lambda initializes the container, not by its first call (lib/runtime/init-phase.ts).
await buildDuringInit(deployedDeps);

export const handler: DynamoDBStreamHandler = async (event) => {
  const deps = await deployedDeps();
  return flushAfter(deps.metrics, () => handleStreamBatch(deps, event));
};
