import { nextDeadline } from '../election/deadlines.js';
import { holderOf, isLeaseExpired } from '../election/liveness.js';
import { holderLeaseSeconds } from '../election/timing.js';
import type { ElectionStep, Millis } from '../election/types.js';
import { onConditionFailed } from '../errors.js';
import { type HolderLeaseAbsent, type HolderLeaseSeen, isLeaseAbsent } from '../ports/cluster.js';
import type { CoordinatorDeps } from '../ports/coordinator.js';
import { clustersOf, type LeaseKey } from '../ports/lease-key.js';
import type { LeaseObservation, LeaseState, StoredLease, TakeoverDeferral } from '../ports/store.js';
import { takenByAnother } from './foreign-holding.js';
import { readRestOfGroup } from './placeholder-group-read.js';

/** How often a takeover held off by an unreachable holder cluster looks again. */
export const UNREACHABLE_RETRY_MS: Millis = 2_000;

export type TakeoverVerdict =
  /**
   * Take over. `answered`: the holder's cluster, when it was read just now and answered; `read`:
   * that Lease as read, which the takeover fences (fenceHolder) once it knows whom it names.
   */
  | { readonly verdict: 'proceed'; readonly answered?: string; readonly read?: HolderRead }
  /** The holder renewed where ingest did not see it; that is recorded now: decide again. */
  | { readonly verdict: 'renewed' }
  /** Not yet: look again at `at`. */
  | { readonly verdict: 'deferred'; readonly at: Millis };

const PROCEED: TakeoverVerdict = { verdict: 'proceed' };

/**
 * Before a lease is taken from a holder that looks expired, its own cluster is asked. Our view of
 * its renewals comes through ingest, and an ingest that falls behind (a throttled table, a slow
 * watch) makes a live holder look expired: the takeover would then give the lease a second leader
 * until the first one's renew deadline runs out. If the holder's Lease shows a renewal we have not
 * recorded, it is recorded (which moves the deadline): decide again.
 *
 * A cluster that cannot be read proves nothing either way: the holder may be down with it, or
 * renewing there while only we are cut off. Under `Wait` (the default) the takeover is deferred
 * until the cluster answers, and then for one more lease duration, counted from that answer, so
 * that a holder coming back with it can renew the Lease that still names it (client-go does, at
 * its next retry) before anyone else is made leader. An answer that took longer than half a lease
 * duration counts as the cluster coming back too: a hung apiserver answers what was queued in
 * any order once it runs again, the holder's own renewal included (docs/reliability.md, "Findings
 * behind the code").
 *
 * The verdict's times are taken after the read, which can take as long as its timeout.
 */
export async function confirmTakeover(
  deps: CoordinatorDeps,
  key: LeaseKey,
  stored: StoredLease | undefined,
  now: Millis,
): Promise<TakeoverVerdict> {
  const read = deps.readHolderLease;
  const holder = stored === undefined ? undefined : holderOf(stored.record);
  if (read === undefined || stored === undefined || holder === undefined) return PROCEED;
  if (!isLeaseExpired(stored.record, now)) return PROCEED;
  const cluster = stored.record.holderCluster ?? (clustersOf(key)[0] as string);
  const leaseMs = (stored.record.leaseDurationSeconds ?? 0) * 1000;
  const asked = deps.clock();
  let seen: Awaited<ReturnType<typeof read>>;
  try {
    seen = await read(cluster, key);
  } catch (error) {
    return unreachable(deps, key, stored, cluster, error as Error, deps.clock());
  }
  const answered = deps.clock();
  const shown = seen === undefined || isLeaseAbsent(seen) ? undefined : seen;
  const news = shown === undefined ? undefined : await recordNews(deps, key, stored, shown, answered);
  if (news !== undefined) return news;
  const elsewhere = await readRestOfGroup(deps, key, stored, read, {
    news: (other, at) => recordNews(deps, key, stored, other, at),
    unreachable: (other, error, at) => unreachable(deps, key, stored, other, error, at),
  });
  if (elsewhere !== undefined) return elsewhere;
  // A revoke of ours (preemption by revoke) is the holder's last chance to have renewed: it may
  // lead until one of its lease durations after it, on our clock, that instant included, as a lease is live
  // at its deadline (isLeaseExpired).
  const revokeMs = holderLeaseSeconds(stored.record.leaseDurationSeconds, shown?.leaseDurationSeconds) * 1000;
  if (shown?.revokedAt !== undefined && shown.revokedAt + revokeMs >= answered) {
    const notBefore = shown.revokedAt + revokeMs + 1;
    if (stored.takeoverNotBefore !== notBefore)
      await defer(deps, key, stored, { notBefore, holderClusterOut: false }, answered);
    return { verdict: 'deferred', at: notBefore };
  }
  if (stored.holderClusterOut === true || answered - asked > leaseMs / 2) {
    const notBefore = answered + leaseMs;
    deps.logger.warn('the holder’s cluster answers again; the holder has one lease duration to renew', {
      lease: key,
      cluster,
      holder,
      answeredAfterMs: answered - asked,
      notBefore,
    });
    await defer(deps, key, stored, { notBefore, holderClusterOut: false }, answered);
    return { verdict: 'deferred', at: notBefore };
  }
  if (stored.takeoverNotBefore !== undefined && stored.takeoverNotBefore > answered)
    return { verdict: 'deferred', at: stored.takeoverNotBefore };
  return { verdict: 'proceed', answered: cluster, ...(seen !== undefined && { read: { cluster, seen } }) };
}

/** The holder's Lease as the takeover check read it, in the holder's cluster (or that it had none). */
export interface HolderRead {
  readonly cluster: string;
  readonly seen: HolderLeaseSeen | HolderLeaseAbsent;
}

/**
 * What the holder's Lease shows that the record does not, recorded before any takeover: a renewal
 * ingest did not record, or another elector holding it. Undefined when it shows neither.
 */
async function recordNews(
  deps: CoordinatorDeps,
  key: LeaseKey,
  stored: StoredLease,
  seen: LeaseObservation,
  answered: Millis,
): Promise<TakeoverVerdict | undefined> {
  const holder = stored.record.holderIdentity;
  if (seen.holderIdentity === holder && renewedSince(stored, seen)) {
    // Routine, not a fault: ingest records a renewal only when the deadline moves far enough
    // (docs/design.md, "Renewals kept by ingest"), so an expiry check often finds a newer one.
    deps.logger.info(
      'the holder renewed since its last recorded renewal; recording it instead of taking over',
      {
        lease: key,
        holder,
      },
    );
    const renewedAt = renewedOnOurClock(deps, key, seen, answered);
    return recordSeen(deps, key, stored, { ...seen, renewedAt, current: true }, answered);
  }
  // Another elector took the holder's Lease and leads (a legacy elector, once the holder stopped
  // renewing): a successor named now would lead beside it, and the mirror would then take the
  // Lease from it as a state under an older term of ours. It is the holder now: decide again.
  if (takenByAnother({ ...seen, term: seen.shownTerm }, stored)) {
    deps.logger.warn('another elector holds the holder’s Lease; recording it instead of taking over', {
      lease: key,
      holder,
      seen: seen.holderIdentity,
    });
    const { shownTerm: _ours, ...taken } = seen;
    return recordSeen(deps, key, stored, taken, answered);
  }
  return undefined;
}

/**
 * The Lease shows a renewal we have not recorded. It is read as it stands, so it is never older than
 * the state on record, and stamps are never compared across clocks (docs/design.md, rule 5): any
 * stamp but the one last observed is news. The stamp observed may be ours, not the holder's (a
 * lagging ingest run recording an older state of our own write after the holder's renewal); read
 * as the holder's, a holder whose clock is behind ours had its renewal read as older, and was taken
 * over before its lease ran out.
 *
 * A renewTime our own write set (managedFields: renewTimeOurs), with the record's lease duration,
 * is no renewal at all: the holder has not written since. (A holder's write owns only what it
 * changed: one stamped with our very instant, with its own lease duration, left renewTime ours.)
 * That is an HTTP holder's Lease, our copy, which lags the record until the mirror pass of its last
 * renewal has run (read as news, a dead one kept its lease a lease duration longer), and the holder
 * put back on its Lease (a revoke taken back; read as news, it ended the
 * hold-off the put-back set). Where managedFields do not say, the record's own stamp is read as
 * ours (isOurStamp).
 */
export function renewedSince(stored: StoredLease, seen: HolderLeaseSeen): boolean {
  const { renewTime, renewTimeOurs } = seen;
  if (renewTimeOurs === true && ourWriteUnderRecord(stored, seen)) return false;
  return (renewTimeOurs === false || !isOurStamp(stored, seen)) && renewTime !== stored.observedRenewTime;
}

/**
 * Our write under the term on record or below, with the record's lease duration. One under a newer
 * term of ours is a decision the table lost (restored from a backup): news, which lifts the record
 * to that term before any takeover, and the takeover then fences the holder under it.
 */
function ourWriteUnderRecord(stored: StoredLease, seen: HolderLeaseSeen): boolean {
  return (
    (seen.shownTerm ?? 0) <= stored.record.term &&
    seen.leaseDurationSeconds === stored.record.leaseDurationSeconds
  );
}

/**
 * The Lease shows the record's own stamp, as the mirror wrote it: the same renewTime (whole
 * milliseconds, as ours are) and lease duration. A holder whose clock is behind ours by exactly as
 * long as it waited to renew stamps its renewal with our instant; its own lease duration, or a part
 * of a millisecond (client-go stamps microseconds), tells it from ours.
 */
function isOurStamp(stored: StoredLease, seen: HolderLeaseSeen): boolean {
  return (
    seen.renewTime === (stored.storedRenewTime ?? stored.record.renewTime) &&
    seen.leaseDurationSeconds === stored.record.leaseDurationSeconds &&
    seen.subMillisecond !== true
  );
}

/** What the holder's cluster shows is recorded first; a record that moved on meanwhile is read again by the next step. */
async function recordSeen(
  deps: CoordinatorDeps,
  key: LeaseKey,
  stored: StoredLease,
  seen: LeaseObservation,
  answered: Millis,
): Promise<TakeoverVerdict> {
  await deps.store.observeLease(key, seen, stored, answered).catch(onConditionFailed(undefined));
  return { verdict: 'renewed' };
}

/**
 * When the holder's renewal that ingest kept unrecorded (or missed) happened, on our clock: never
 * before it was committed, since client-go's holder leads from its write's answer. Where this
 * process watches the clusters (ingest's own steps), its first sighting, or `answered` for one its
 * watch has not shown yet, so a holder that died just after a kept renewal is taken over at its true
 * deadline, not one read later. Elsewhere (elect, a timer or the sweep: no sightings) `answered`: the
 * holder's stamp says when its write began, which a slow write makes seconds early (docs/reliability.md,
 * "Findings behind the code").
 */
export function renewedOnOurClock(
  deps: CoordinatorDeps,
  key: LeaseKey,
  seen: LeaseObservation,
  answered: Millis,
): Millis {
  const { cluster, holderIdentity: holder, renewTime } = seen;
  const firstSeen = deps.renewalSightings?.firstSeen(key, { cluster, holder, renewTime });
  return Math.min(firstSeen ?? answered, answered);
}

async function unreachable(
  deps: CoordinatorDeps,
  key: LeaseKey,
  stored: StoredLease,
  cluster: string,
  error: Error,
  now: Millis,
): Promise<TakeoverVerdict> {
  const policy = deps.holderClusterUnreachable?.(key) ?? 'Wait';
  const holder = stored.record.holderIdentity;
  if (policy === 'TakeOver') {
    deps.logger.warn('cannot read the holder’s cluster; taking over on our record (TakeOver)', {
      lease: key,
      cluster,
      holder,
      error,
    });
    return PROCEED;
  }
  deps.logger.warn('cannot read the holder’s cluster; keeping the lease with its holder (Wait)', {
    lease: key,
    cluster,
    holder,
    error,
  });
  const leaseMs = (stored.record.leaseDurationSeconds ?? 0) * 1000;
  await defer(
    deps,
    key,
    stored,
    { notBefore: now + leaseMs + UNREACHABLE_RETRY_MS, holderClusterOut: true },
    now,
  );
  return { verdict: 'deferred', at: now + UNREACHABLE_RETRY_MS };
}

async function defer(
  deps: CoordinatorDeps,
  key: LeaseKey,
  stored: StoredLease,
  deferral: TakeoverDeferral,
  now: Millis,
): Promise<void> {
  // A record that changed while the holder's cluster was read fails as a conflict: decide again.
  await deps.store.deferTakeover(key, stored, deferral, now);
}

/**
 * A deferred takeover always leaves a timer armed. Recording the hold-off takes a write, and a
 * hold-off that ends during it (a holder whose last renewal came just before our revoke) would
 * otherwise leave a step that waits for nothing: no write, no ping, no timer, and only the minute
 * sweep to name the successor, tens of seconds late (docs/reliability.md, "Findings behind the code").
 */
export function lookAgainAfter(at: Millis, now: Millis): Millis {
  return Math.max(at - now, 1);
}

/**
 * A deferred takeover decides nothing until the hold-off ends, but the lease's other deadlines
 * keep running: a candidate's 15-minute refresh or its expiry (nextDeadline) that comes first is
 * when it looks again, or that candidate would be pinged or collected only after the hold-off.
 */
export function heldOff(state: LeaseState, until: Millis, now: Millis): ElectionStep {
  const holdOffEnds = lookAgainAfter(until, now);
  const otherDeadline = nextDeadline(state.lease?.record, state.candidates, now);
  const requeueAfterMs = otherDeadline > 0 ? Math.min(holdOffEnds, otherDeadline) : holdOffEnds;
  return { action: 'none', ping: [], write: null, requeueAfterMs, error: null };
}
