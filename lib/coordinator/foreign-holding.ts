import { REVOKED_HOLDER } from '../api/lease.js';
import type { Millis } from '../election/types.js';
import type { StoredLease } from '../ports/store.js';

/** What a Lease in a cluster shows of its holding, as read there. */
export interface SeenHolding {
  readonly holderIdentity?: string;
  /** The Lease's renewTime, on its writer's clock. */
  readonly renewTime?: Millis;
  readonly leaseDurationSeconds?: number;
  /** The term of ours the Lease carries (our annotation), if any. */
  readonly term?: number;
  /**
   * renewTime shows a part of a millisecond (client-go stamps microseconds): no stamp of ours, which
   * are whole milliseconds, however close in time to one.
   */
  readonly subMillisecond?: boolean;
  /** Our write last changed renewTime (true) or another's did (false), as managedFields show. */
  readonly renewTimeOurs?: boolean;
}

/**
 * Another elector holds the Lease: in a cluster of the group that is not the holder's, a legacy
 * elector that took the copy there once it looked expired (the recorded holder stopped renewing) or
 * empty; in the holder's own cluster, one that took it after a release or once the holder stopped
 * renewing, or one that created it after a first decision's adoption read. Our own writes name the
 * recorded holder, our revoke, or nobody; an older term of ours is a state from before the current
 * decision, which the mirror replaces. (A client-go Update keeps the annotations of the Lease it
 * takes, so a legacy elector's holding shows the term it found there.)
 *
 * Such a holding is live, whatever its stamp says: the record has not observed it, so it was committed
 * by the read that shows it, and its elector leads from its write's answer (a stamp is taken when the
 * write begins, on the elector's clock: a slow write or a clock behind ours makes a live holder look
 * expired). It is never written over nor replaced by a decision (docs/design.md, rule 3): it is
 * recorded instead, as seen now, and the usual rules ask it to yield or, if it never renews again,
 * take over one lease duration later, as a client-go follower would.
 */
export function takenByAnother(seen: SeenHolding, stored: StoredLease): boolean {
  const { record } = stored;
  const holder = seen.holderIdentity ?? '';
  return (
    holder !== '' &&
    holder !== REVOKED_HOLDER &&
    holder !== (record.holderIdentity ?? '') &&
    (seen.term === undefined || seen.term >= record.term) &&
    seen.renewTime !== undefined &&
    seen.leaseDurationSeconds !== undefined &&
    // An elector's take stamps renewTime itself; one our write stamped is our copy (of a decision the
    // table may have lost since, restored from a backup), a put-back or a decision: never another's.
    seen.renewTimeOurs !== true &&
    // An elector that takes a Lease stamps renewTime with its own clock; a Lease that still shows
    // the stamp we (or the recorded holder) wrote was only edited, by hand or by a tool: drift.
    // (managedFields cannot settle it: the recorded holder's own stamp is another manager's too.)
    (seen.subMillisecond === true || seen.renewTime !== record.renewTime) &&
    seen.renewTime !== stored.observedRenewTime &&
    !copyOfReleasedHolding(seen, stored.record)
  );
}

/**
 * Our copy of the holding its holder has just released: it names the releasing holder, under the
 * current term, with a stamp of ours (whole milliseconds; the holder's own renewals carry
 * microseconds, and its managedFields name the holder's program, where they say). In a cluster of
 * the group the release has not been copied to yet, read as another elector's, it made a rolling
 * restart's leaving holder the lease's holder again, under a new term, until its lease duration ran out, instead of handing over at once (docs/clusters.md, "A release
 * means leaving"). In the holder's own cluster it is a mirror write from before a release through our
 * API (an HTTP holder's, which no Lease shows), delivered by the watch after it (judgeHomeLease).
 */
export function copyOfReleasedHolding(seen: SeenHolding, record: StoredLease['record']): boolean {
  return (
    (record.holderIdentity ?? '') === '' &&
    record.releasedHolder === seen.holderIdentity &&
    seen.term === record.term &&
    seen.subMillisecond !== true &&
    seen.renewTimeOurs !== false
  );
}

/**
 * In a lease group, a Lease naming a holder under a term of ours the record lacks (or with no record),
 * its renewTime set by our own write: our copy of a decision the table lost (recreated, or restored
 * from a backup), or that decision's write where the holder had not taken it yet. It does not say
 * which cluster the holder leads from. Recorded as a holding in the cluster it stands in, the holder's
 * renewals in another cluster would be read as our copies and go unrecorded, and a successor would be
 * named beside it at the deadline. So it is recorded as a holding by our placeholder (REVOKED_HOLDER,
 * dated at the read), as our revoke is: nobody is named for one lease duration, and the holder's own
 * renewal, in whichever cluster, is another elector's holding then (takenByAnother), recorded with
 * its cluster (docs/reliability.md, "A table recreated or restored").
 */
export function unplacedHolding(seen: SeenHolding, recordTerm: number | undefined, group: boolean): boolean {
  const holder = seen.holderIdentity ?? '';
  return (
    group &&
    holder !== '' &&
    holder !== REVOKED_HOLDER &&
    seen.term !== undefined &&
    (recordTerm === undefined || seen.term > recordTerm) &&
    stampedByUs(seen)
  );
}

/** renewTime was last set by our write, as managedFields say; without them, a whole-millisecond stamp. */
export function stampedByUs(seen: Pick<SeenHolding, 'renewTimeOurs' | 'subMillisecond'>): boolean {
  return seen.renewTimeOurs ?? seen.subMillisecond !== true;
}
