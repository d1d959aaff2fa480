import type { DynamoDBStreamHandler } from 'aws-lambda';
import { handleMirrorBatch } from '../lib/handlers/mirror.js';
import { deployedClusterDeps } from '../lib/runtime/deps.js';

export const handler: DynamoDBStreamHandler = async (event) =>
  handleMirrorBatch(await deployedClusterDeps(), event);
