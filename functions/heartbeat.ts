import type { APIGatewayProxyHandlerV2 } from 'aws-lambda';
import { handleHeartbeat } from '../lib/http/heartbeat-api.js';
import { deployedHttpDeps } from '../lib/runtime/http-deps.js';

export const handler: APIGatewayProxyHandlerV2 = async (event) =>
  handleHeartbeat(await deployedHttpDeps(), event);
