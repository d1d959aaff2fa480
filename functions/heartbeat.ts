import type { APIGatewayProxyHandlerV2 } from 'aws-lambda';
import { handleHeartbeat } from '../lib/http/heartbeat-api.js';
import { deployedDeps } from '../lib/runtime/deps.js';

export const handler: APIGatewayProxyHandlerV2 = async (event) =>
  handleHeartbeat(await deployedDeps(), event);
