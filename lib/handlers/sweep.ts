import type { Context } from 'aws-lambda';
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
  for await (const key of deps.store.listLeaseKeys()) {
    if (context !== undefined && context.getRemainingTimeInMillis() < DEADLINE_MARGIN_MS) {
      deps.logger.warn('sweep stopped before the deadline', { reconciled, failed });
      return { reconciled, failed, stoppedEarly: true };
    }
    try {
      await reconcileLease(deps, key);
      await clusterPass?.(key);
      reconciled++;
    } catch (error) {
      failed++;
      deps.logger.error('sweep reconcile failed', { lease: key, error: error as Error });
    }
  }
  return { reconciled, failed, stoppedEarly: false };
}
