/**
 * Every condition expression the table uses, named for what it guards. Each write the
 * coordinator makes carries one of these, so a replayed or late invocation can never undo a
 * newer write (DESIGN.md rule 2).
 */

/**
 * The common heartbeat: the same candidate renewing with nothing else changed. It must be newer
 * than the stored renewTime (on the candidate's own clock), carry the same spec, and the stored
 * candidate must not have expired (a return from expiry is a change the election must see).
 */
export const RENEWAL_WITH_SAME_SPEC =
  'attribute_exists(pk) AND renewTime < :renewTime AND specKey = :specKey AND renewedAt >= :liveSince';

/** First heartbeat of a candidate: create only if nobody created it meanwhile. */
export const CANDIDATE_IS_NEW = 'attribute_not_exists(pk)';

/** A changed spec or a return from expiry: overwrite only the exact item we read. */
export const CANDIDATE_UNCHANGED_SINCE_READ = 'attribute_exists(pk) AND renewTime = :readRenewTime';

/**
 * A ping: only if the candidate still shows the renew and ping we decided on; a concurrent
 * coordinator that pinged first, or a renew that landed meanwhile, wins.
 */
export const CANDIDATE_NOT_RENEWED_OR_PINGED_SINCE_READ =
  'attribute_exists(pk) AND renewedAt = :readRenewedAt AND (attribute_not_exists(pingTime) OR pingTime = :readPingTime)';

/** Garbage collection: delete only if the candidate did not renew after we judged it expired. */
export const CANDIDATE_STILL_EXPIRED = 'attribute_exists(pk) AND renewedAt = :readRenewedAt';

/** Creating the lease record: nobody created it first. */
export const LEASE_IS_NEW = 'attribute_not_exists(pk)';

/** Compare-and-set on the lease record's version: nobody wrote it since we read it. */
export const LEASE_VERSION_MATCHES = 'version = :expectedVersion';

/** A renewal counts only from the holder the coordinator recorded. */
export const LEASE_HELD_BY = 'attribute_exists(pk) AND holderIdentity = :expectedHolder';

/**
 * Amending a live lease (asking its holder to yield): the holder, term, preferredHolder and
 * strategy are as the decision read them. Renewals may have landed since; they do not matter.
 */
export function holdingAsRead(read: {
  readonly preferredHolder?: string;
  readonly strategy?: string;
}): string {
  return [
    'holderIdentity = :holder AND term = :term',
    read.preferredHolder === undefined
      ? 'attribute_not_exists(preferredHolder)'
      : 'preferredHolder = :readPreferredHolder',
    read.strategy === undefined ? 'attribute_not_exists(strategy)' : 'strategy = :readStrategy',
  ].join(' AND ');
}

/** Arm the lease timer unless an earlier one is still pending (one delivery per deadline). */
export const NO_EARLIER_TIMER_PENDING = 'attribute_not_exists(dueAt) OR dueAt > :dueAt OR dueAt <= :now';

/** The timer record still shows the deadline this step armed (no other step armed one since). */
export const TIMER_ARMED_FOR = 'dueAt = :armed';

/** A holder's renewal seen in its cluster: still the recorded holder, and newer than the last one seen. */
export const RENEWAL_BY_HOLDER_NEWER_THAN_LAST =
  'holderIdentity = :expectedHolder AND (attribute_not_exists(observedRenewTime) OR observedRenewTime < :observedRenewTime)';

/**
 * A holder's renewal seen in the cluster the coordinator recorded it in, written without reading
 * first: still the recorded holder, recorded in this cluster, and newer than the last one seen.
 */
export const RENEWAL_BY_HOLDER_IN_ITS_CLUSTER =
  'holderIdentity = :expectedHolder AND holderCluster = :cluster AND (attribute_not_exists(observedRenewTime) OR observedRenewTime < :observedRenewTime)';

/** A candidate deleted from its cluster: remove our item unless a newer heartbeat arrived meanwhile. */
export const CANDIDATE_NOT_RENEWED_SINCE = 'attribute_exists(pk) AND renewTime <= :renewTime';
