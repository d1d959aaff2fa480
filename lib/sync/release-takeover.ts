import { preemptsHolder } from '../coordinator/lease-triage.js';
import { reconcileStep } from '../election/reconcile.js';
import type { ElectionStep } from '../election/types.js';
import type { RawObject } from '../ports/cluster.js';
import type { CoordinatorDeps, MirrorDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { LeaseState } from '../ports/store.js';
import { decideAndMirror } from './decide-now.js';
import type { ReleaseTakeover } from './ingest.js';

/**
 * A release ingest has seen and not recorded yet: the lease as the release would leave it, at the
 * version ingest read (`unrecorded`), and the Lease it saw in the holder's cluster.
 */
export interface UnrecordedRelease {
  readonly unrecorded: LeaseState;
  readonly cluster: string;
  readonly lease: RawObject;
}

/**
 * The takeover written in place of the release (docs/design.md, the fast path): when the step on
 * the released lease names a successor at once (one that counts as alive, no ping first), its
 * decision is written under the compare-and-set the release's own write would have had, so the
 * successor is named one table write and one Lease write after the holder let go, as the in-tree
 * controller names it on the release event. The release is never recorded on its own then: the
 * decision supersedes it (a new holder under a new term), and the holder's own cluster has just
 * answered with the empty Lease, so neither it nor the table is read again.
 *
 * `declined` (no successor to name at once) and `lost` (the step went otherwise: a writer came
 * between, the successor's cluster did not answer, a failure) leave the release to ingest.
 */
export async function takeOverOnRelease(
  deps: CoordinatorDeps,
  mirror: MirrorDeps,
  key: LeaseKey,
  { unrecorded, cluster, lease }: UnrecordedRelease,
): Promise<ReleaseTakeover> {
  if (!namesSuccessorAtOnce(deps, key, unrecorded)) return 'declined';
  try {
    const step = await decideAndMirror(deps, mirror, key, {
      change: { known: { state: unrecorded, answered: [cluster] }, leases: [{ cluster, lease }] },
    });
    return namesNewHolder(step, unrecorded) ? 'taken' : 'lost';
  } catch (error) {
    deps.logger.warn('cannot take over on the release; recording the release', {
      lease: key,
      error: error as Error,
    });
    return 'lost';
  }
}

/**
 * The step wrote a new holding (a holder under a term above the released one's), its own or, after
 * a lost compare-and-set, its retry's: the release is moot. Anything else leaves it to be recorded.
 */
function namesNewHolder(step: ElectionStep, unrecorded: LeaseState): boolean {
  const written = step.write;
  return (
    step.action === 'takeover' &&
    written !== null &&
    (written.holderIdentity ?? '') !== '' &&
    written.term > (unrecorded.lease?.record.term ?? 0)
  );
}

/** The step on the released lease, judged now, names a successor without pinging anyone first. */
function namesSuccessorAtOnce(deps: CoordinatorDeps, key: LeaseKey, state: LeaseState): boolean {
  const step = reconcileStep({
    lease: state.lease?.record,
    candidates: state.candidates,
    now: deps.clock(),
    preempt: preemptsHolder(deps.preemption, key, state),
  });
  return step.action === 'takeover' && step.ping.length === 0 && (step.write?.holderIdentity ?? '') !== '';
}
