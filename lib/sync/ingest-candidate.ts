import { parseLeaseCandidate } from '../api/leasecandidate.js';
import { CoordinatorError, onConditionFailed, StaleHeartbeatError } from '../errors.js';
import type { RawObject, WatchPhase } from '../ports/cluster.js';
import type { IngestDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { StoredCandidate } from '../ports/store.js';

export type CandidateOutcome = 'stored' | 'unchanged' | 'removed' | 'invalid' | 'not-renewed';

/** Carries one LeaseCandidate event from a cluster into the table (a conditional write). */
export async function ingestCandidate(
  deps: IngestDeps,
  cluster: string,
  phase: WatchPhase,
  raw: RawObject,
  /** The event came from a watch, not a list: an ADDED one is a candidate the cluster has just created. */
  watched = false,
  /** Called just before a new candidate (watched, ADDED) is written: reads to run beside the write. */
  beside?: (key: LeaseKey) => void,
): Promise<{ outcome: CandidateOutcome; key?: LeaseKey; stored?: StoredCandidate }> {
  let candidate: ReturnType<typeof parseLeaseCandidate>;
  try {
    candidate = parseLeaseCandidate(raw);
  } catch (error) {
    if (!(error instanceof CoordinatorError)) throw error;
    deps.logger.warn('ignoring an invalid LeaseCandidate', {
      cluster,
      object: raw.metadata,
      reason: error.message,
    });
    return { outcome: 'invalid' };
  }
  const key = deps.leases(cluster, candidate.namespace, candidate.leaseName);
  if (phase === 'DELETED') {
    await deps.store
      .removeCandidate(key, cluster, candidate.name, candidate.renewTime ?? Number.MAX_SAFE_INTEGER)
      // It renewed since (a newer object of the same name), or is gone already: keeping it is right.
      .catch(onConditionFailed(undefined));
    return { outcome: 'removed', key };
  }
  // Upstream treats a candidate without renewTime as expired; so do we.
  if (candidate.renewTime === undefined) return { outcome: 'not-renewed', key };
  const created = watched && phase === 'ADDED';
  if (created) beside?.(key);
  try {
    const { candidate: stored } = await deps.store.putHeartbeat(
      key,
      cluster,
      { ...candidate, renewTime: candidate.renewTime },
      deps.clock(),
      // A new candidate is stored in one write: it is what may preempt the holder.
      { created },
    );
    return { outcome: 'stored', key, stored };
  } catch (error) {
    // Watch replays and relists hand us what we already stored: nothing to do.
    if (error instanceof StaleHeartbeatError) return { outcome: 'unchanged', key };
    throw error;
  }
}
