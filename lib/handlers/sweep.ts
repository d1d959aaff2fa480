import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { LeaderlessTally } from '../coordinator/leaderless.js';
import { preemptsHolder, reconcileWouldWrite } from '../coordinator/lease-triage.js';
import { reconcileLease } from '../coordinator/reconcile-lease.js';
import type { Millis } from '../election/types.js';
import type { CoordinatorDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import { noMetrics } from '../ports/metrics.js';
import type { SweepLock } from '../ports/schedule.js';
import type { LeaseState } from '../ports/store.js';
import { clusterSweepPass } from '../sync/cluster-sweep.js';
import type { ClusterWiring } from '../wiring/coordinator.js';

/** Stop starting reconciles this long before the Lambda deadline, so none is cut off half-way. */
const DEADLINE_MARGIN_MS = 5_000;

export interface SweepResult {
  /** Leases the scan saw. */
  readonly scanned: number;
  /** Leases that needed a look and were reconciled. */
  readonly reconciled: number;
  readonly failed: number;
  readonly stoppedEarly: boolean;
}

/**
 * sweep (every minute): the backstop for a lost stream record or timer, which therefore delays
 * a decision by a minute at most. One Scan reads the whole table (billed by size, not per item);
 * a lease whose scanned state needs no write (the common case: a leader renewing, its timer
 * pending) costs nothing more, and the rest are reconciled from a fresh, strong read. Reconciling
 * also collects expired candidates.
 */
export async function handleSweep(
  deps: CoordinatorDeps,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
  /**
   * With clusters: collect expired candidates there and repair Leases changed by others. Given
   * the scanned state when the lease was not reconciled just before (so the scan is still its view).
   */
  clusterPass?: (key: LeaseKey, scanned?: LeaseState) => Promise<unknown>,
): Promise<SweepResult> {
  let scanned = 0;
  let reconciled = 0;
  let failed = 0;
  const leaderless = new LeaderlessTally(deps.clock());
  const result = (stoppedEarly: boolean): SweepResult => {
    leaderless.report(deps.metrics ?? noMetrics);
    return { scanned, reconciled, failed, stoppedEarly };
  };
  for await (const { key, state } of deps.store.scanLeases()) {
    if (context !== undefined && context.getRemainingTimeInMillis() < DEADLINE_MARGIN_MS) {
      deps.logger.warn('sweep stopped before the deadline', { scanned, reconciled, failed });
      return result(true);
    }
    scanned++;
    if (state !== undefined) leaderless.add(state);
    try {
      if (
        state === undefined ||
        reconcileWouldWrite(
          state,
          deps.clock(),
          preemptsHolder(deps.preemption, key, state),
          await coveredNow(deps),
        )
      ) {
        await reconcileLease(deps, key);
        reconciled++;
        await clusterPass?.(key);
      } else {
        await clusterPass?.(key, state);
      }
    } catch (error) {
      failed++;
      deps.logger.error('sweep reconcile failed', { lease: key, error: error as Error });
    }
  }
  return result(false);
}

/**
 * The clusters a live ingest cover names (docs/design.md, "Timers kept by ingest"): there a held
 * lease's own deadlines need no timer. Read per lease (the cover caches what it read), so a cover
 * that lapses during a long sweep is seen lapsed; one that cannot be read covers nothing.
 */
async function coveredNow(deps: CoordinatorDeps): Promise<ReadonlySet<string>> {
  if (deps.timerCover === undefined) return new Set();
  return deps.timerCover.coveredClusters(deps.clock()).catch((error: unknown) => {
    deps.logger.warn('cannot read the timer cover; arming timers', { error: error as Error });
    return new Set<string>();
  });
}

/**
 * One sweep at a time: a tick that finds the last sweep still running is dropped (undefined),
 * not queued, and the next minute sweeps again. Overlapping sweeps would only repeat each
 * other's work, doubling the scan. The lock lapses at `until` (the holder's deadline) should the
 * holder die without letting go.
 */
export async function sweepAlone<T>(
  lock: SweepLock,
  hold: { readonly owner: string; readonly now: Millis; readonly until: Millis },
  logger: Pick<Logger, 'info'>,
  sweep: () => Promise<T>,
): Promise<T | undefined> {
  if (!(await lock.acquire(hold.owner, hold.now, hold.until))) {
    logger.info('another sweep is still running; this tick is dropped');
    return undefined;
  }
  try {
    return await sweep();
  } finally {
    await lock.release(hold.owner);
  }
}

/**
 * sweep, as the schedule runs it: alone (the lock is held until this invocation's deadline at
 * most, so a sweep that crashed blocks no later tick), with the cluster pass when a cluster is
 * reached over Kubernetes. A fresh pass per sweep: it lists each cluster's Leases once.
 */
export async function handleSweepSchedule(
  deps: CoordinatorDeps & { readonly sweepLock: SweepLock; readonly clusterWiring?: ClusterWiring },
  context: Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'>,
): Promise<SweepResult | undefined> {
  const clusters = deps.clusterWiring;
  const now = deps.clock();
  const hold = { owner: context.awsRequestId, now, until: now + context.getRemainingTimeInMillis() };
  const result = await sweepAlone(deps.sweepLock, hold, deps.logger, () =>
    handleSweep(
      deps,
      context,
      clusters === undefined
        ? undefined
        : clusterSweepPass(clusters, deps.clock, (name) => clusters.clusters.httpOnly(name)),
    ),
  );
  if (result !== undefined) deps.logger.info('sweep done', { ...result });
  return result;
}
