import { collectableCandidates } from '../election/liveness.js';
import { reconcileStep } from '../election/reconcile.js';
import type { Millis } from '../election/types.js';
import type { PreemptionPolicy } from '../ports/coordinator.js';
import { clustersOf, type LeaseKey } from '../ports/lease-key.js';
import type { LeaseState } from '../ports/store.js';
import { holderDeadlines } from './holder-deadlines.js';

/**
 * A timer still pending at or before `dueAt` will look at the lease by then and arm the next one,
 * so arming another is useless (and its write would fail its condition, billed all the same).
 */
export function pendingTimerCovers(timerDueAt: Millis | undefined, now: Millis, dueAt: Millis): boolean {
  return timerDueAt !== undefined && timerDueAt > now && timerDueAt <= dueAt;
}

/**
 * Whether this lease's live holder may be asked to yield (reconcileStep's `preempt`): its
 * preemption, looked up by the cluster its holder lives in (the lease's first cluster while
 * unheld), is anything but `Never`. Auto when no policy is configured.
 */
export function preemptsHolder(
  policy: PreemptionPolicy | undefined,
  key: LeaseKey,
  state: Pick<LeaseState, 'lease'>,
): boolean {
  const holderCluster = state.lease?.record.holderCluster ?? (clustersOf(key)[0] as string);
  return (policy?.(key, holderCluster) ?? 'Auto') !== 'Never';
}

/**
 * Whether a reconcile of this lease, at `now`, would write anything: collect an expired candidate,
 * take an election step, ping, or arm a timer that is missing or lost. The sweep asks this of
 * what its scan read, and reconciles (reading the lease again, strongly) only the leases where
 * it is true; the rest cost it nothing beyond their share of the scan. `preempt` is the lease's
 * (preemptsHolder), as the reconcile will judge it: under `Never` a better candidate beside a
 * live holder is no reason to look. `covered`: the clusters a live ingest cover names.
 */
export function reconcileWouldWrite(
  state: LeaseState,
  now: Millis,
  preempt: boolean,
  covered: ReadonlySet<string> = new Set(),
): boolean {
  const expired = collectableCandidates(state.candidates, now).filter((c) => c.resourceVersion === undefined);
  if (expired.length > 0) return true;
  const step = reconcileStep({ lease: state.lease?.record, candidates: state.candidates, now, preempt });
  if (step.action !== 'none' || step.write !== null || step.ping.length > 0) return true;
  const dueAt = timerWanted(state, step.requeueAfterMs, now, covered);
  return dueAt !== undefined && !pendingTimerCovers(state.timerDueAt, now, dueAt);
}

/**
 * The timer a quiet lease needs: its next look, or, where a live ingest cover (`covered`, the
 * clusters it names) keeps the holder's own deadline, only the lease's other deadlines
 * (lease-timer.ts, nextTimer). Once the cover lapses the sweep finds the timer missing and arms it.
 */
function timerWanted(
  state: LeaseState,
  requeueAfterMs: Millis,
  now: Millis,
  covered: ReadonlySet<string>,
): Millis | undefined {
  if (requeueAfterMs <= 0) return undefined;
  const step = { action: 'none', ping: [], write: null, requeueAfterMs, error: null } as const;
  const split = holderDeadlines(state, step, now);
  if (split === undefined || !covered.has(split.holderCluster)) return now + requeueAfterMs;
  return split.otherDue;
}

/**
 * Whether a deadline at `dueAt` has been overtaken: a reconcile at `now`, before it, would write
 * nothing and look next after it (the holder renewed past its pre-ping, say). `requeue` then takes
 * the step at once instead of waiting for `dueAt` (lib/handlers/timer.ts).
 */
export function overtaken(state: LeaseState, now: Millis, dueAt: Millis): boolean {
  const expired = collectableCandidates(state.candidates, now).filter((c) => c.resourceVersion === undefined);
  if (expired.length > 0) return false;
  const step = reconcileStep({ lease: state.lease?.record, candidates: state.candidates, now });
  if (step.action !== 'none' || step.write !== null || step.ping.length > 0) return false;
  return step.requeueAfterMs <= 0 || now + step.requeueAfterMs > dueAt;
}
