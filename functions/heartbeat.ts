import type { APIGatewayProxyHandlerV2 } from 'aws-lambda';
import { handleHeartbeat } from '../lib/http/heartbeat-api.js';
import { flushAfter } from '../lib/metrics/emf-metrics.js';
import { deployedHttpDeps } from '../lib/runtime/http-deps.js';

export const handler: APIGatewayProxyHandlerV2 = async (event) => {
  const deps = await deployedHttpDeps();
  return flushAfter(deps.metrics, () => handleHeartbeat(deps, event));
};
