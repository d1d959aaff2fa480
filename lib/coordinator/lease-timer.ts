import type { ElectionStep, Millis } from '../election/types.js';
import { onConditionFailed } from '../errors.js';
import type { CoordinatorDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { LeaseState } from '../ports/store.js';
import { holderDeadlines, lateHolder } from './holder-deadlines.js';
import { pendingTimerCovers } from './lease-triage.js';

/** The step a reconcile carries out, what it read, and the timer this look delivers, if any. */
export interface TimerContext {
  readonly state: LeaseState;
  readonly step: ElectionStep;
  readonly now: Millis;
  /** The timer this look delivers, if it is one taken early (ReconcileOptions.delivering). */
  readonly delivering?: Millis | undefined;
  /** The timer this look is a hop of, to send on unless the step replaces it (ReconcileOptions.hop). */
  readonly hop?: Millis | undefined;
  /** Told once the hop is sent on: a retry of the step must not send it again. */
  readonly onHopSent?: () => void;
  /** A takeover check before this look recorded what the holder's Lease showed and the record did not (nextTimer). */
  readonly holderNewsRecorded?: boolean | undefined;
}

/**
 * Arms the lease's timer for the step's next look, unless the step wants none or a timer already
 * pending comes by then. The timer being delivered no longer counts as pending: this step arms
 * the next one. A live holder's own deadline is left to ingest where its cover names the holder's
 * cluster (nextTimer), but not after recorded news (newsBehindEarlierTimer).
 */
export async function armLeaseTimer(
  deps: CoordinatorDeps,
  key: LeaseKey,
  context: TimerContext,
): Promise<void> {
  const { state, now, delivering, hop, onHopSent } = context;
  const dueAt = await nextTimer(deps, key, context);
  const pending = state.timerDueAt === delivering ? undefined : state.timerDueAt;
  if (dueAt !== undefined && !pendingTimerCovers(pending, now, dueAt))
    return armAndDeliver(deps, key, dueAt, now, delivering);
  if (dueAt !== undefined && pending !== dueAt && newsBehindEarlierTimer(deps, context))
    await deps.timers.deliverAt(key, dueAt, now);
  // The pending timer stands; if this look is one of its hops, it goes on toward its deadline.
  // The record already shows it, so only the message is sent.
  if (hop === undefined || pending !== hop) return;
  await deps.timers.deliverAt(key, hop, now);
  onHopSent?.();
}

/**
 * Records the timer, then sends it. The record is what keeps one delivery per deadline (a step
 * that finds an earlier timer pending sends none), so a record whose delivery failed would leave
 * the deadline to the minute sweep: the step's retry would find it pending and send nothing. A
 * failed send therefore takes the record back before the step fails, and the retry sends again.
 */
async function armAndDeliver(
  deps: CoordinatorDeps,
  key: LeaseKey,
  dueAt: Millis,
  now: Millis,
  delivering?: Millis,
): Promise<void> {
  // The timer being delivered is past for the table's condition, though its time has not come; an
  // earlier timer pending: it is delivered already, and this deadline needs none.
  const pastUntil = Math.max(now, delivering ?? now);
  const armed = await deps.store.armTimer(key, dueAt, pastUntil).catch(onConditionFailed(undefined));
  if (armed === undefined) return;
  try {
    await deps.timers.deliverAt(key, dueAt, now);
  } catch (error) {
    await deps.store
      .disarmTimer(key, dueAt, armed.replaced, pastUntil)
      // Another step armed a timer since, and sent it: nothing to take back.
      .catch(onConditionFailed(undefined))
      .catch((undo: unknown) =>
        // The record then stands until its deadline passes; the sweep arms the timer again after it.
        deps.logger.error('cannot take back a timer that was not sent', { lease: key, error: undo as Error }),
      );
    throw error;
  }
}

/**
 * A look that follows recorded news (nextTimer) and finds an earlier timer pending, which an attempt
 * that lost its compare-and-set armed beside its write: that timer's look carries no news, finds
 * the holder's new deadline still ahead and leaves it to the cover, which may keep nothing for it.
 * The deadline is then sent as well, by message only (the record keeps naming the earlier timer):
 * a second look at the lease is harmless, and without it only the minute sweep looks
 * (docs/reliability.md, "Findings behind the code").
 */
function newsBehindEarlierTimer(
  deps: CoordinatorDeps,
  { state, step, now, holderNewsRecorded }: TimerContext,
) {
  const cover = deps.timerCover;
  if (holderNewsRecorded !== true || cover === undefined || cover.keep !== undefined) return false;
  return holderDeadlines(state, step, now) !== undefined;
}

/**
 * When the lease's timer is due: the step's next look, but for a held lease whose next deadline is
 * only its live holder's own (holderDeadlines) in a cluster a live ingest cover names. Ingest sees
 * every renewal there and takes that step itself when it comes due, so the timer is armed only
 * for the lease's other deadlines, if any (docs/design.md, "Timers kept by ingest"). A cover that
 * cannot be read covers nothing: the timer is armed as ever.
 *
 * A renewal that a takeover check found and recorded is one ingest may have seen, kept unrecorded,
 * and taken its steps for already: its memory then holds nothing for the lease, and a holder that
 * has died sends no renewal to set it again. Such a look leaves the holder's deadline to the cover
 * only when it is ingest's own step (the cover keeps it in that memory); any other arms the timer.
 */
async function nextTimer(
  deps: CoordinatorDeps,
  key: LeaseKey,
  context: TimerContext,
): Promise<Millis | undefined> {
  const { state, step, now, holderNewsRecorded } = context;
  const dueAt = step.requeueAfterMs > 0 ? now + step.requeueAfterMs : undefined;
  const cover = deps.timerCover;
  if (dueAt === undefined || cover === undefined) return dueAt;
  if (holderNewsRecorded === true && cover.keep === undefined) return dueAt;
  const split = holderDeadlines(state, step, now);
  if (split === undefined) {
    await keepLateLook(deps, key, context, dueAt);
    return dueAt;
  }
  const covered = await coveredClusters(deps, key, now);
  if (!covered.has(split.holderCluster)) return dueAt;
  cover.keep?.(key, split.holder, split.holderDue);
  return split.otherDue;
}

/**
 * Ingest's own step on a lease whose holder is late (lateHolder: past its pre-ping, whether it died
 * or stopped renewing because it was revoked) keeps the next look in memory as well as arming its timer: a warm ingest then takes the
 * expiry, a ping window's end or a revoke's deadline on time, and the timer's look after it finds
 * the step taken (docs/design.md, "Timers kept by ingest"). Only where ingest covers the holder's cluster.
 */
async function keepLateLook(
  deps: CoordinatorDeps,
  key: LeaseKey,
  { state, now }: TimerContext,
  dueAt: Millis,
): Promise<void> {
  const cover = deps.timerCover;
  const late = cover?.keep === undefined ? undefined : lateHolder(state, now);
  if (cover === undefined || late === undefined) return;
  // Called on the cover, not taken off it: ingest's memory is a class, and its `keep` needs its `this`.
  if ((await coveredClusters(deps, key, now)).has(late.holderCluster)) cover.keep?.(key, late.holder, dueAt);
}

/** The clusters a live cover names; none when the cover cannot be read (the timer is armed as ever). */
async function coveredClusters(
  deps: CoordinatorDeps,
  key: LeaseKey,
  now: Millis,
): Promise<ReadonlySet<string>> {
  const cover = deps.timerCover;
  if (cover === undefined) return new Set<string>();
  return cover.coveredClusters(now).catch((error: unknown) => {
    deps.logger.warn('cannot read the timer cover; arming the timer', { lease: key, error: error as Error });
    return new Set<string>();
  });
}
