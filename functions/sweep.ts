import type { ScheduledHandler } from 'aws-lambda';
import { handleSweepSchedule } from '../lib/handlers/sweep.js';
import { flushAfter } from '../lib/metrics/emf-metrics.js';
import { deployedDeps } from '../lib/runtime/deps.js';

export const handler: ScheduledHandler = async (_event, context) => {
  const deps = await deployedDeps();
  await flushAfter(deps.metrics, () => handleSweepSchedule(deps, context));
};
