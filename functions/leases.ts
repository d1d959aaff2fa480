import type { APIGatewayProxyHandlerV2 } from 'aws-lambda';
import { handleGetLease, handleHolder } from '../lib/http/lease-api.js';
import { deployedDeps } from '../lib/runtime/deps.js';

/** The Lease routes of the HTTP API: read a decision; renew or release as its holder. */
export const handler: APIGatewayProxyHandlerV2 = (event) =>
  event.requestContext.http.method === 'GET'
    ? handleGetLease(deployedDeps(), event)
    : handleHolder(deployedDeps(), event);
