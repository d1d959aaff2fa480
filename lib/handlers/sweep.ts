import type { Context } from 'aws-lambda';
import pLimit from 'p-limit';
import type { LeaseKey } from '../coordinator/ports.js';
import { type CoordinatorDeps, reconcileLease } from '../coordinator/reconcile-lease.js';

/** Stop starting reconciles this long before the Lambda deadline, so none is cut off half-way. */
const DEADLINE_MARGIN_MS = 5_000;

export interface SweepResult {
  readonly reconciled: number;
  readonly failed: number;
  readonly stoppedEarly: boolean;
}

/**
 * Leases reconciled at once. A sweep one lease at a time took about a minute per 10,000 leases on
 * DynamoDB Local, so at that scale consecutive sweeps overlapped, and a deployed one (60 s timeout)
 * would stop before reaching the leases late in the scan.
 */
const SWEEP_CONCURRENCY = 16;

/**
 * sweep (every minute): the backstop. Re-reconciles every lease in the table, which also
 * collects expired candidates, so a lost stream record or timer delays a decision by a minute
 * at most.
 */
export async function handleSweep(
  deps: CoordinatorDeps,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
  /** With clusters: collect expired candidates there and repair Leases changed by others. */
  clusterPass?: (key: LeaseKey) => Promise<unknown>,
): Promise<SweepResult> {
  let reconciled = 0;
  let failed = 0;
  let stoppedEarly = false;
  const limit = pLimit(SWEEP_CONCURRENCY);
  const tasks: Promise<void>[] = [];
  for await (const key of deps.store.listLeaseKeys()) {
    tasks.push(
      limit(async () => {
        if (context !== undefined && context.getRemainingTimeInMillis() < DEADLINE_MARGIN_MS) {
          stoppedEarly = true;
          return;
        }
        try {
          await reconcileLease(deps, key);
          await clusterPass?.(key);
          reconciled++;
        } catch (error) {
          failed++;
          deps.logger.error('sweep reconcile failed', { lease: key, error: error as Error });
        }
      }),
    );
  }
  await Promise.all(tasks);
  if (stoppedEarly) deps.logger.warn('sweep stopped before the deadline', { reconciled, failed });
  return { reconciled, failed, stoppedEarly };
}
