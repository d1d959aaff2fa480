import type { ScheduledHandler } from 'aws-lambda';
import { handleSweep } from '../lib/handlers/sweep.js';
import { deployedDeps } from '../lib/runtime/deps.js';

export const handler: ScheduledHandler = async (_event, context) => {
  const result = await handleSweep(deployedDeps(), context);
  deployedDeps().logger.info('sweep done', { ...result });
};
