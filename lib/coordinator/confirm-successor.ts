import { holderOf } from '../election/liveness.js';
import type { ElectionStep, Millis } from '../election/types.js';
import type { CoordinatorDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { LeaseState } from '../ports/store.js';
import { UNREACHABLE_RETRY_MS } from './confirm-takeover.js';
import { decideAfterReads, type ReadTimes } from './decide-after-reads.js';

/**
 * A new holder learns that it leads from the Lease in its own cluster. Elected into a cluster we
 * cannot reach, it never leads, and the lease has no leader; worse, when its term runs out its
 * expiry cannot be confirmed either (confirm-takeover.ts: under `Wait` an unreadable holder cluster
 * is never taken over), so the lease stays leaderless until that cluster is back (docs/reliability.md,
 * "Findings behind the code").
 *
 * So before a step names a new holder that watches its cluster's Lease (a LeaseCandidate read from
 * that cluster), the cluster must answer one read. When it does not, that cluster's candidates sit
 * this step out and the step is taken again without them; the lease is looked at again shortly,
 * when they may be back. Not electing is always safe.
 */
export async function withReachableSuccessor(
  deps: CoordinatorDeps,
  key: LeaseKey,
  state: LeaseState,
  step: ElectionStep,
  /** When the step was judged, and the clock after the reads that came before this check. */
  times: ReadTimes,
  /** Clusters this reconcile has just read (the expired holder's, in a failover): no second read. */
  justAnswered: readonly string[] = [],
  /** The lease's preemption allows asking a live holder to yield (reconcileStep's `preempt`). */
  preempt = true,
): Promise<{ step: ElectionStep; now: Millis }> {
  const read = deps.readHolderLease;
  if (read === undefined) return { step, now: times.now };
  const current = state.lease === undefined ? undefined : holderOf(state.lease.record);
  const answered = new Set<string>(justAnswered);
  const out = new Set<string>();
  let next = step;
  let at = times.now;
  for (;;) {
    const successor = next.write === null ? undefined : holderOf(next.write);
    const cluster = next.write?.holderCluster;
    if (successor === undefined || successor === current || cluster === undefined || answered.has(cluster))
      break;
    // A candidate that heartbeats over HTTP (no resourceVersion) reads its lease from our API,
    // not from its cluster: that cluster's state does not decide whether it can be told.
    const candidate = state.candidates.find((c) => c.name === successor && c.cluster === cluster);
    if (candidate !== undefined && candidate.resourceVersion === undefined) break;
    try {
      await read(cluster, key);
      answered.add(cluster);
    } catch (error) {
      deps.logger.warn('cannot read the cluster of the candidate to elect; electing without its candidates', {
        lease: key,
        cluster,
        candidate: successor,
        error: error as Error,
      });
      out.add(cluster);
    }
    // The read can take as long as its timeout: take the step again, dated after it.
    at = deps.clock();
    next = decideAfterReads(
      {
        lease: state.lease?.record,
        candidates: state.candidates.filter((c) => !out.has(c.cluster)),
        preempt,
      },
      { judgedAt: times.judgedAt, now: at },
    );
  }
  if (out.size === 0) return { step: next, now: at };
  const retry =
    next.requeueAfterMs > 0 ? Math.min(next.requeueAfterMs, UNREACHABLE_RETRY_MS) : UNREACHABLE_RETRY_MS;
  return { step: { ...next, requeueAfterMs: retry }, now: at };
}
