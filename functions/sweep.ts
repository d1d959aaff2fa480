import type { ScheduledHandler } from 'aws-lambda';
import { handleSweep } from '../lib/handlers/sweep.js';
import { deployedDeps } from '../lib/runtime/deps.js';
import { collectExpiredCandidates } from '../lib/sync/gc.js';
import { mirrorLease } from '../lib/sync/mirror.js';

export const handler: ScheduledHandler = async (_event, context) => {
  const deps = await deployedDeps();
  const cluster = deps.cluster;
  const result = await handleSweep(
    deps,
    context,
    cluster === undefined
      ? undefined
      : async (key, scanned) => {
          await collectExpiredCandidates(cluster, key, deps.clock(), scanned);
          await mirrorLease(cluster, key);
        },
  );
  deps.logger.info('sweep done', { ...result });
};
