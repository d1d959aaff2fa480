import type { Millis } from '../election/types.js';
import { anyOf, type Condition, exists, is, missing } from './write-plan.js';

/**
 * Every condition the table's writes are made under, named for what it guards. Each write the
 * coordinator makes carries one of these, so a replayed or late invocation can never undo a
 * newer write (docs/design.md, rule 2).
 */

/**
 * The common heartbeat: the same candidate renewing with nothing else changed. It must be newer
 * than the stored renewTime (on the candidate's own clock), carry the same spec, and the stored
 * candidate must not have expired (a return from expiry is a change the election must see).
 */
export const renewalWithSameSpec = (renewTime: Millis, specKey: string, liveSince: Millis): Condition => ({
  name: 'RENEWAL_WITH_SAME_SPEC',
  all: [
    exists('pk'),
    is('renewTime', '<', renewTime),
    is('specKey', '=', specKey),
    is('renewedAt', '>=', liveSince),
  ],
});

/** First heartbeat of a candidate: create only if nobody created it meanwhile. */
export const candidateIsNew = (): Condition => ({ name: 'CANDIDATE_IS_NEW', all: [missing('pk')] });

/** A changed spec or a return from expiry: overwrite only the exact item we read. */
export const candidateUnchangedSinceRead = (readRenewTime: Millis): Condition => ({
  name: 'CANDIDATE_UNCHANGED_SINCE_READ',
  all: [exists('pk'), is('renewTime', '=', readRenewTime)],
});

/**
 * A ping: only if the candidate still shows the renew and ping we decided on; a concurrent
 * coordinator that pinged first, or a renew that landed meanwhile, wins.
 */
export const candidateNotRenewedOrPingedSinceRead = (
  readRenewedAt: Millis,
  readPingTime: Millis,
): Condition => ({
  name: 'CANDIDATE_NOT_RENEWED_OR_PINGED_SINCE_READ',
  all: [
    exists('pk'),
    is('renewedAt', '=', readRenewedAt),
    anyOf(missing('pingTime'), is('pingTime', '=', readPingTime)),
  ],
});

/** Garbage collection: delete only if the candidate did not renew after we judged it expired. */
export const candidateStillExpired = (readRenewedAt: Millis): Condition => ({
  name: 'CANDIDATE_STILL_EXPIRED',
  all: [exists('pk'), is('renewedAt', '=', readRenewedAt)],
});

/** A candidate deleted from its cluster: remove our item unless a newer heartbeat arrived meanwhile. */
export const candidateNotRenewedSince = (renewTime: Millis): Condition => ({
  name: 'CANDIDATE_NOT_RENEWED_SINCE',
  all: [exists('pk'), is('renewTime', '<=', renewTime)],
});

/**
 * Compare-and-set on the lease record's version: nobody wrote it since we read it. With nothing
 * read, the record must not exist (nobody created it first).
 */
export const leaseVersionMatches = (expectedVersion: number | undefined): Condition =>
  expectedVersion === undefined
    ? { name: 'LEASE_IS_NEW', all: [missing('pk')] }
    : { name: 'LEASE_VERSION_MATCHES', all: [is('version', '=', expectedVersion)] };

/** A renewal counts only from the holder the coordinator recorded. */
export const leaseHeldBy = (expectedHolder: string): Condition => ({
  name: 'LEASE_HELD_BY',
  all: [exists('pk'), is('holderIdentity', '=', expectedHolder)],
});

/**
 * Amending a live lease (asking its holder to yield): the holder, term, preferredHolder and
 * strategy are as the decision read them. Renewals may have landed since; they do not matter.
 * A read without a holder is outside the port's terms: its undefined value is refused as
 * DynamoDB refuses it, not taken as a failed condition.
 */
export const holdingAsRead = (read: {
  readonly holderIdentity?: string;
  readonly term: number;
  readonly preferredHolder?: string;
  readonly strategy?: string;
}): Condition => ({
  name: 'HOLDING_AS_READ',
  all: [
    is('holderIdentity', '=', read.holderIdentity),
    is('term', '=', read.term),
    read.preferredHolder === undefined
      ? missing('preferredHolder')
      : is('preferredHolder', '=', read.preferredHolder),
    read.strategy === undefined ? missing('strategy') : is('strategy', '=', read.strategy),
  ],
});

/** Arm the lease timer unless an earlier one is still pending (one delivery per deadline). */
export const noEarlierTimerPending = (dueAt: Millis, now: Millis): Condition => ({
  name: 'NO_EARLIER_TIMER_PENDING',
  all: [anyOf(missing('dueAt'), is('dueAt', '>', dueAt), is('dueAt', '<=', now))],
});

/** The timer record still shows the deadline this step armed (no other step armed one since). */
export const timerArmedFor = (armed: Millis): Condition => ({
  name: 'TIMER_ARMED_FOR',
  all: [is('dueAt', '=', armed)],
});

/** A holder's renewal seen in its cluster: still the recorded holder, and newer than the last one seen. */
export const renewalByHolderNewerThanLast = (
  expectedHolder: string,
  observedRenewTime: Millis,
): Condition => ({
  name: 'RENEWAL_BY_HOLDER_NEWER_THAN_LAST',
  all: [is('holderIdentity', '=', expectedHolder), newerThanLastSeen(observedRenewTime)],
});

/**
 * A holder's renewal seen in the cluster the coordinator recorded it in, written without reading
 * first: still the recorded holder, recorded in this cluster, and newer than the last one seen.
 */
export const renewalByHolderInItsCluster = (
  expectedHolder: string,
  cluster: string,
  observedRenewTime: Millis,
): Condition => ({
  name: 'RENEWAL_BY_HOLDER_IN_ITS_CLUSTER',
  all: [
    is('holderIdentity', '=', expectedHolder),
    is('holderCluster', '=', cluster),
    newerThanLastSeen(observedRenewTime),
  ],
});

function newerThanLastSeen(observedRenewTime: Millis) {
  return anyOf(missing('observedRenewTime'), is('observedRenewTime', '<', observedRenewTime));
}
