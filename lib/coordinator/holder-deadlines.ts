import { nextDeadline } from '../election/deadlines.js';
import { holderOf, isLeaseExpired, leaseDeadline } from '../election/liveness.js';
import { PRE_PING_LEAD_MS } from '../election/timing.js';
import type { ElectionStep, Millis } from '../election/types.js';
import type { LeaseState } from '../ports/store.js';
import { heardOverHttp } from './holder-home.js';

/** A step's next look, split into its live holder's own deadline and the lease's other ones. */
export interface HolderDeadlines {
  readonly holder: string;
  /** The cluster the holder renews in: ingest keeps the deadline only where it watches. */
  readonly holderCluster: string;
  /** The holder's own next deadline: its pre-ping (the other candidates are pinged then). */
  readonly holderDue: Millis;
  /** The earliest deadline of the lease's candidates (staleness, expiry); undefined when none. */
  readonly otherDue?: Millis;
}

/**
 * The step's next look split as ingest keeps it (docs/design.md, "Timers kept by ingest"), when
 * only the holder's renewals move its deadline, its pre-ping: the step decides nothing (no write, no ping) and
 * the lease is held by a live holder recorded in a cluster, renewing where ingest sees it (not over
 * HTTP), with no preferred holder (a preemption's deadlines are not the holder's) and no takeover held off. Undefined otherwise: the step's timer
 * is armed as it always is.
 */
export function holderDeadlines(
  state: LeaseState,
  step: ElectionStep,
  now: Millis,
): HolderDeadlines | undefined {
  const stored = state.lease;
  if (stored === undefined || step.action !== 'none' || step.write !== null || step.ping.length > 0)
    return undefined;
  const { record } = stored;
  const holder = holderOf(record);
  if (holder === undefined || record.holderCluster === undefined || isLeaseExpired(record, now))
    return undefined;
  if (
    record.preferredHolder !== undefined ||
    stored.takeoverNotBefore !== undefined ||
    stored.holderClusterOut === true ||
    heardOverHttp(state)
  )
    return undefined;
  // Only the pre-ping: once it has passed, what comes is the expiry, a timer as ever, which ingest's
  // own steps keep as well (lateHolder below).
  const prePing = (leaseDeadline(record) ?? now) - PRE_PING_LEAD_MS;
  if (prePing <= now) return undefined;
  const otherIn = nextDeadline(undefined, state.candidates, now);
  return {
    holder,
    holderCluster: record.holderCluster,
    holderDue: prePing,
    ...(otherIn > 0 && { otherDue: now + otherIn }),
  };
}

/**
 * A lease whose holder, recorded in a cluster and renewing where ingest sees it, is late: its
 * pre-ping has passed (the holder may have died, or stopped renewing because it was revoked). Every look from here to
 * the takeover is a failover's or a preemption's critical path: ingest's own step keeps it in
 * memory beside the timer (lease-timer.ts, keepLateLook), so a warm ingest takes it on time where
 * an SQS delay comes up to a second late and may meet a cold `requeue`. Undefined otherwise.
 */
export function lateHolder(
  state: LeaseState,
  now: Millis,
): Pick<HolderDeadlines, 'holder' | 'holderCluster'> | undefined {
  const record = state.lease?.record;
  const holder = holderOf(record);
  if (record === undefined || holder === undefined || record.holderCluster === undefined) return undefined;
  if (heardOverHttp(state)) return undefined;
  const deadline = leaseDeadline(record);
  if (deadline !== undefined && now < deadline - PRE_PING_LEAD_MS) return undefined;
  return { holder, holderCluster: record.holderCluster };
}
