import type { SQSHandler } from 'aws-lambda';
import { handleTimerBatch } from '../lib/handlers/timer.js';
import { deployedDeps } from '../lib/runtime/deps.js';

export const handler: SQSHandler = async (event) => handleTimerBatch(await deployedDeps(), event);
