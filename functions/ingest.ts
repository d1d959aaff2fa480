import type { Context, ScheduledHandler } from 'aws-lambda';
import { flushAfter } from '../lib/metrics/emf-metrics.js';
import { type DeployedDeps, deployedClusterDeps, deployedDeps } from '../lib/runtime/deps.js';
import { DecideNow } from '../lib/sync/decide-now.js';
import { runClusterIngest, storedCandidateVersions } from '../lib/sync/ingest-runner.js';
import { mirrorLease } from '../lib/sync/mirror.js';

/** Leave this long before the Lambda deadline; the next scheduled run has already started by then. */
const DEADLINE_MARGIN_MS = 3_000;

/**
 * ingest: started every minute, it watches every registered cluster for about a minute, storing
 * each LeaseCandidate and Lease change as it arrives, so changes reach the table within
 * milliseconds rather than at the next schedule. Runs overlap by about 12 s, longer than a new run
 * takes to start watching, so no change falls between two of them (the conditional writes make the
 * overlap harmless; docs/reliability.md, "ingest's duty cycle").
 */
export const handler: ScheduledHandler = async (_event, context) => {
  const deps = await deployedClusterDeps();
  if (deps === undefined) return;
  const deciding = await deployedDeps();
  const fastPath = new DecideNow(deciding, deps);
  await flushAfter(deciding.metrics, () => watchUntilDeadline(deps, fastPath, context));
};

/** One run's watches, until DEADLINE_MARGIN_MS before the Lambda deadline. */
async function watchUntilDeadline(
  deps: NonNullable<DeployedDeps['cluster']>,
  fastPath: DecideNow,
  context: Context,
): Promise<void> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS);
  try {
    // One scan, alongside the clusters' first lists, so that each writes only what changed since
    // the last run (not awaited here: the runs overlap by seconds, and a scan of a large table is not quick).
    const stored = storedCandidateVersions(deps.store).catch((error: unknown) => {
      deps.logger.warn('cannot scan the stored candidates; first lists write them all', {
        error: error as Error,
      });
      return new Map<string, Map<string, string>>();
    });
    await Promise.all(
      deps.registry.names().map((cluster) =>
        runClusterIngest(deps, cluster, stop.signal, {
          onDrift: (key) => mirrorLease(deps, key),
          onChange: (key) => fastPath.schedule(key),
          stored: stored.then((byCluster) => byCluster.get(cluster)),
        }),
      ),
    );
    // Decisions the fast path started finish inside this invocation.
    await fastPath.idle();
  } finally {
    clearTimeout(timer);
  }
}
