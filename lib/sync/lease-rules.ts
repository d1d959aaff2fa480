import { REVOKED_HOLDER } from '../api/lease.js';
import { subMillisecond } from '../api/time.js';
import {
  copyOfReleasedHolding,
  type SeenHolding,
  takenByAnother as takenByAnotherHolding,
  unplacedHolding,
} from '../coordinator/foreign-holding.js';
import { holderOf, isLeaseExpired } from '../election/liveness.js';
import type { LeaseRecord, Millis } from '../election/types.js';
import { clustersOf, type LeaseKey } from '../ports/lease-key.js';
import type { StoredLease } from '../ports/store.js';
import type { ClusterLeaseView } from './desired-lease.js';

/**
 * The rules ingest applies to a Lease event before it writes anything. Pure: they take the
 * Lease as seen, the record as read, and `now`.
 */

/** One coordinated Lease event from a cluster, parsed, and the record it is judged against. */
export interface LeaseEvent {
  readonly cluster: string;
  readonly key: LeaseKey;
  /** The Lease as the cluster shows it. */
  readonly observed: LeaseRecord;
  /** What planMirror compares, our term annotation included: read once for every rule. */
  readonly view: ClusterLeaseView;
}

/** What a Lease event in the holder's own cluster calls for. */
export type HomeLeaseVerdict =
  /**
   * Our own revoke of the holder (preemption by revoke), or a takeover's fence: not news of a
   * holder, nor a release.
   */
  | 'unchanged'
  /** A Lease without renewTime or leaseDurationSeconds says nothing about a holder. */
  | 'ignored'
  /** A state from before our current decision, or a hand edit over a live holder: repair it. */
  | 'drift'
  /** Nothing new about the holder; what it or a legacy renewer strips may need putting back. */
  | 'same-renewal'
  /** News of the holder (a renewal, a release, a new holder): record it. */
  | 'record';

export function judgeHomeLease(
  event: LeaseEvent,
  stored: StoredLease | undefined,
  now: Millis,
): HomeLeaseVerdict {
  const { observed, view } = event;
  // Our revoke or fence under a term above the record's is not our write of the current decision:
  // the table lost the decision that wrote it (restored from a backup), and it is news (below).
  const ahead = termAhead(view, stored);
  if (observed.holderIdentity === REVOKED_HOLDER && !ahead) return 'unchanged';
  if (observed.renewTime === undefined || observed.leaseDurationSeconds === undefined) return 'ignored';
  if (stored === undefined) return 'record';
  // A Lease under an older term of ours is the watch delivering a state from before our newer
  // decision was written over it (or the mirror not done yet). It says nothing about the current
  // holder; read as news, its empty holder would record the new holder as released, and the
  // mirror would then write that over the new holder. A Lease without our annotation is not
  // older, only not ours yet.
  if (view.term !== undefined && view.term < stored.record.term) return 'drift';
  // A takeover's fence under the term on record: our write, and the takeover that wrote it names the
  // successor itself. Read as the holder's release, it would end a holder that renews through our
  // API since the takeover's read, which nothing on its cluster's Lease stops (docs/design.md, "Data flow").
  if (view.fenced === true && !ahead) return 'unchanged';
  // A term of ours above the record's is not our earlier decision (we never write a term we have
  // not recorded): the table lost it (recreated, restored from a backup), and the Lease is news.
  // Recorded, it lifts the next decision's term above the Lease's, which the mirror would otherwise
  // refuse to lower; our placeholder there is recorded as a holding (placeholderHolding).
  if (ahead) return 'record';
  const holder = observed.holderIdentity ?? '';
  const recorded = stored.record.holderIdentity ?? '';
  if (holder === recorded && sameRenewal(observed.renewTime, stored)) return 'same-renewal';
  if (ourEarlierWrite(event, stored)) return 'unchanged';
  if (copyOfReleasedHolding(holdingOf(observed, view), stored.record)) return 'drift';
  if (handEditOverLiveHolder(event, stored, now)) return 'drift';
  return 'record';
}

/**
 * The renewTime the record holds: our own stamp (the mirror writes the record's renewTime), or the
 * holder's last renewal that ingest recorded (observedRenewTime). Recording the latter again is a
 * write its condition refuses; a relist, a new run's first list and our own patches beside the
 * holder's stamp show it again.
 */
function sameRenewal(renewTime: Millis | undefined, stored: StoredLease): boolean {
  return renewTime === stored.record.renewTime || renewTime === stored.observedRenewTime;
}

/**
 * The recorded holder's Lease under the term on record, last stamped by our own write (its
 * managedFields say so) with another renewTime than the record's: an earlier state of our copy,
 * our decision or our put-back, which a lagging watch delivers after the holder's renewals were
 * recorded. Recorded as the holder's renewal, our stamp would stand for one it never made, and a
 * takeover check would weigh the holder's next renewal against a stamp on our clock. (A holder's
 * write that left our stamp as it was, with a lease duration of its own, is missed here; the
 * takeover check reads it live before any successor is named.)
 */
function ourEarlierWrite({ observed, view }: LeaseEvent, stored: StoredLease): boolean {
  return (
    view.renewTimeOurs === true &&
    view.term === stored.record.term &&
    (observed.holderIdentity ?? '') === (stored.record.holderIdentity ?? '')
  );
}

/**
 * Our revoke or a takeover's fence under a term of ours the record lacks: the table lost the decision
 * that wrote it (restored from a backup). Either took a holder off its Lease, and that holder may lead
 * until one of its lease durations after its last renewal, which the table no longer knows. So it is
 * recorded as a holding by the placeholder (REVOKED_HOLDER), dated at the read, with the Lease's lease
 * duration: no successor is named before that holding runs out, and the next decision goes above the
 * Lease's term, which the mirror would otherwise refuse to lower (docs/reliability.md, "A table
 * recreated or restored").
 */
export function placeholderHolding({ observed, view }: LeaseEvent, stored: StoredLease | undefined): boolean {
  return (observed.holderIdentity === REVOKED_HOLDER || view.fenced === true) && termAhead(view, stored);
}

/**
 * The holder a Lease recorded from the holder's own cluster names: our placeholder's holding (for our
 * placeholder, or for our copy in a group of a decision the table lost: unplacedHolding), or its holder.
 */
export function recordedHolder(event: LeaseEvent, stored: StoredLease | undefined): string {
  const { key, observed, view } = event;
  const unplaced = unplacedHolding(
    holdingOf(observed, view),
    stored?.record.term,
    clustersOf(key).length > 1,
  );
  return placeholderHolding(event, stored) || unplaced ? REVOKED_HOLDER : (observed.holderIdentity ?? '');
}

/**
 * The Lease the holder left still asks it to yield: our preferred-holder annotation (client-go keeps
 * the annotations of the Lease it writes, and replaces its spec), or spec.preferredHolder.
 */
export function askedToYield({ observed, view }: LeaseEvent): boolean {
  return view.preferredHolderAnnotation !== undefined || observed.preferredHolder !== undefined;
}

/**
 * A Lease event outside the holder's home cluster only mirrors the decision (ingestOtherClusterCopy),
 * but for our placeholder under a term the record lacks (placeholderHolding), in whichever cluster of a
 * group it stands: that cluster was the holder's home then, and its Lease is judged as a home's is.
 * Read as a copy, the mirror would refuse to lower its term, and it would stand there unrenewed until
 * a legacy elector took it beside our holder.
 */
export function isCopy(
  home: boolean,
  event: LeaseEvent,
  stored: StoredLease | undefined,
): stored is StoredLease {
  return !home && stored !== undefined && !placeholderHolding(event, stored);
}

/** The Lease shows a term of ours above the record's. */
export function termAhead(view: ClusterLeaseView, stored: StoredLease | undefined): boolean {
  return stored !== undefined && view.term !== undefined && view.term > stored.record.term;
}

/**
 * A home Lease that names someone else under our current term (or none), stamped with a renewTime
 * neither we nor the holder wrote, was taken by another elector (takenByAnother): it is live now,
 * and writing the recorded holder back over it would give the lease two leaders until its renew
 * deadline, so it is recorded like any new holding. Only another holder written over a stamp of
 * ours is a hand edit to repair while the recorded holder is live.
 */
function handEditOverLiveHolder(event: LeaseEvent, stored: StoredLease, now: Millis): boolean {
  const holder = event.observed.holderIdentity ?? '';
  const liveHolder = holderOf(stored.record) !== undefined && !isLeaseExpired(stored.record, now);
  return (
    liveHolder &&
    holder !== '' &&
    holder !== (stored.record.holderIdentity ?? '') &&
    !takenByAnother(event.observed, event.view, stored)
  );
}

/**
 * takenByAnother (foreign-holding.ts) for a Lease as parsed, our term as its annotation shows: a Lease
 * event, or a Lease the mirror read where it was to write (never written over, whatever decision the
 * pass carries: a first decision whose adoption read came before a legacy elector created the Lease,
 * or one older than a holding another elector took).
 */
export function takenByAnother(observed: LeaseRecord, view: ClusterLeaseView, stored: StoredLease): boolean {
  return takenByAnotherHolding(holdingOf(observed, view), stored);
}

function holdingOf(observed: LeaseRecord, view: ClusterLeaseView): SeenHolding {
  return {
    ...(observed.holderIdentity !== undefined && { holderIdentity: observed.holderIdentity }),
    ...(observed.renewTime !== undefined && { renewTime: observed.renewTime }),
    ...(observed.leaseDurationSeconds !== undefined && {
      leaseDurationSeconds: observed.leaseDurationSeconds,
    }),
    ...(view.term !== undefined && { term: view.term }),
    ...(subMillisecond(view.renewTime) && { subMillisecond: true }),
    ...(view.renewTimeOurs !== undefined && { renewTimeOurs: view.renewTimeOurs }),
  };
}

/** The Lease a view shows, as parseLease reads it (renewTime in milliseconds; none if unreadable). */
export function observedOf(view: ClusterLeaseView): LeaseRecord {
  const renewTime = view.renewTime === undefined ? Number.NaN : Date.parse(view.renewTime);
  return {
    term: view.term ?? 0,
    ...(!Number.isNaN(renewTime) && { renewTime }),
    ...(view.holderIdentity !== undefined && { holderIdentity: view.holderIdentity }),
    ...(view.leaseDurationSeconds !== undefined && { leaseDurationSeconds: view.leaseDurationSeconds }),
  };
}
