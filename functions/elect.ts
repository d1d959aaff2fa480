import type { DynamoDBStreamHandler } from 'aws-lambda';
import { handleStreamBatch } from '../lib/handlers/elect.js';
import { deployedDeps } from '../lib/runtime/deps.js';

export const handler: DynamoDBStreamHandler = async (event) => handleStreamBatch(await deployedDeps(), event);
