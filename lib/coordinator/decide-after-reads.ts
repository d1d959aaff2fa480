import { nextDeadline } from '../election/deadlines.js';
import { type ReconcileInput, reconcileStep } from '../election/reconcile.js';
import type { ElectionStep, LeaseRecord, Millis } from '../election/types.js';

/** The times of a step that had to read clusters before it could be decided. */
export interface ReadTimes {
  /** When the step began, before its first cluster read: candidates' proofs of life are judged here. */
  readonly judgedAt: Millis;
  /** The clock after the last read: what the step writes is dated here. */
  readonly now: Millis;
}

/**
 * The election step for a lease whose decision waited on cluster reads (the expired holder's
 * Lease, the successor's cluster, adoption), each of which can take as long as the request timeout.
 *
 * A step that names a new holder stands as it was judged when the reads began, and is dated when
 * they ended: its renewTime (the new term's start on our clock) and its next deadline are taken
 * from `now`, so the term does not start partly spent. Judged on the later clock instead, a
 * takeover behind a hung cluster turns back into a ping: after a 10 s read the successor's answer
 * is older than the 5 s election window, so it is pinged again, and the next look reads the hung
 * cluster again, round after round (docs/reliability.md, "Findings behind the code"). The
 * successor's proof of life may so be as old as the reads plus the election window, which bounds
 * a failover behind a hung holder cluster by one request timeout.
 *
 * Any other step (a ping, a wait, nothing) is decided on the later clock, as the reads left it.
 */
export function decideAfterReads(
  input: Omit<ReconcileInput, 'now'>,
  { judgedAt, now }: ReadTimes,
): ElectionStep {
  const judged = reconcileStep({ ...input, now: judgedAt });
  if (judged.write === null || !namesHolderAt(judged, judgedAt)) return reconcileStep({ ...input, now });
  const write: LeaseRecord = { ...judged.write, renewTime: now };
  return { ...judged, write, requeueAfterMs: nextDeadline(write, input.candidates, now) };
}

/** A create or a takeover: the step starts a holding (renewTime set to the time it was judged). */
function namesHolderAt(step: ElectionStep, at: Millis): boolean {
  return (
    (step.action === 'create' || step.action === 'takeover') &&
    step.write?.renewTime === at &&
    step.write.holderIdentity !== undefined &&
    step.write.holderIdentity !== ''
  );
}
