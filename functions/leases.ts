import type { APIGatewayProxyHandlerV2 } from 'aws-lambda';
import { handleGetLease, handleHolder } from '../lib/http/lease-api.js';
import { flushAfter } from '../lib/metrics/emf-metrics.js';
import { deployedHttpDeps } from '../lib/runtime/http-deps.js';

/** The Lease routes of the HTTP API: read a decision; renew or release as its holder. */
export const handler: APIGatewayProxyHandlerV2 = async (event) => {
  const deps = await deployedHttpDeps();
  return flushAfter(deps.metrics, () =>
    event.requestContext.http.method === 'GET' ? handleGetLease(deps, event) : handleHolder(deps, event),
  );
};
