/**
 * The update expressions that change part of a lease record: renewals and releases recorded,
 * takeovers held off, and a live holder asked to yield (the one decision that is not a whole-record
 * compare-and-set). Each bumps `version` (so a decision read before it loses its compare-and-set)
 * and names the change for the stream filters in `#change`. Their conditions are in conditions.ts.
 */

/** A holder that renews or releases is heard from: any takeover held off for it is moot. */
const END_DEFERRAL = 'REMOVE takeoverNotBefore, holderClusterOut';

/** A renewal or release reported to our API by the holder: liveness moves to now, on our clock. */
export const RECORD_HOLDER_RENEWAL = `SET holderIdentity = :holder, leaseDurationSeconds = :lds, renewTime = :now, #change = :change, updatedAt = :now, version = version + :one ${END_DEFERRAL}`;

/**
 * A renewal seen in a cluster's Lease (by ingest, or by the look before a takeover), or a release
 * seen there: as above, and the renewTime the cluster showed is kept, so an older sighting never
 * counts twice.
 */
export const RECORD_OBSERVED_RENEWAL = `SET holderIdentity = :holder, leaseDurationSeconds = :lds, renewTime = :now, observedRenewTime = :observedRenewTime, #change = :change, updatedAt = :now, version = version + :one ${END_DEFERRAL}`;

/** A release seen in the holder's cluster or reported to our API: as above, and who left when. */
export const RECORD_OBSERVED_RELEASE = `SET holderIdentity = :holder, leaseDurationSeconds = :lds, renewTime = :now, observedRenewTime = :observedRenewTime, releasedHolder = :releasedHolder, releasedAt = :now, #change = :change, updatedAt = :now, version = version + :one ${END_DEFERRAL}`;

/** The holder's own release through our API. */
export const RECORD_HOLDER_RELEASE = `SET holderIdentity = :holder, leaseDurationSeconds = :lds, renewTime = :now, releasedHolder = :releasedHolder, releasedAt = :now, #change = :change, updatedAt = :now, version = version + :one ${END_DEFERRAL}`;

/** The hint-confirmed renewal ingest writes for a holder in its own cluster (the holder is unchanged). */
export const RECORD_HOLDER_CLUSTER_RENEWAL = `SET leaseDurationSeconds = :lds, renewTime = :now, observedRenewTime = :observedRenewTime, #change = :change, updatedAt = :now, version = version + :one ${END_DEFERRAL}`;

/** A live holder asked to yield (and the candidates' strategy written): nothing else moves. */
export const AMEND_LIVE_LEASE =
  'SET preferredHolder = :preferredHolder, strategy = :strategy, #change = :change, updatedAt = :now, version = version + :one';

/** The same when only the strategy changes and nobody is preferred. */
export const AMEND_LIVE_LEASE_STRATEGY =
  'SET strategy = :strategy, #change = :change, updatedAt = :now, version = version + :one';

/** The holder's cluster could not be read: hold the takeover off, and mark the cluster out. */
export const DEFER_TAKEOVER_CLUSTER_OUT =
  'SET takeoverNotBefore = :notBefore, holderClusterOut = :true, #change = :change, updatedAt = :now, version = version + :one';

/** The holder's cluster answered again: hold the takeover off for one lease duration from that answer. */
export const DEFER_TAKEOVER_CLUSTER_BACK =
  'SET takeoverNotBefore = :notBefore, #change = :change, updatedAt = :now, version = version + :one REMOVE holderClusterOut';
