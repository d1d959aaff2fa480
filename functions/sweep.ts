import type { ScheduledHandler } from 'aws-lambda';
import { handleSweepSchedule } from '../lib/handlers/sweep.js';
import { deployedDeps } from '../lib/runtime/deps.js';

export const handler: ScheduledHandler = async (_event, context) => {
  await handleSweepSchedule(await deployedDeps(), context);
};
