import type { Millis } from './types.js';

/** Upstream constants (docs/design.md, U1); names follow the controller's. */
export const ELECTION_DURATION_MS: Millis = 5_000;
export const DEFAULT_LEASE_DURATION_SECONDS = 5;
export const CANDIDATE_VALID_MS: Millis = 30 * 60_000;
/** A candidate older than this is pinged so that its liveness is refreshed before it expires. */
export const CANDIDATE_REFRESH_MS: Millis = CANDIDATE_VALID_MS / 2;
/**
 * How long after a preference is taken back a release is still the holder's yield. client-go sees
 * the preference gone at its next retry (2 s at its defaults) once the mirror has written it, and
 * renews then unless its renew deadline has passed: a release later than this is a clean stop.
 */
export const YIELD_RELEASE_WINDOW_MS: Millis = 10_000;
/**
 * How long after its release a holder taken for leaving waits before it is asked, when nobody else
 * can lead (liveness.ts, leftHoldersToAsk). A process shutting down may still answer for a moment
 * after it released (an agent sidecar whose program's /healthz is still up), and one that answers
 * is named again and holds up the pod that replaces it for a lease duration. One ping window is
 * past most shutdowns, and is little against the wait it replaces (the holder's next heartbeat).
 */
export const LEFT_HOLDER_ASK_DELAY_MS: Millis = ELECTION_DURATION_MS;
/** How long before a silent holder's lease runs out the other candidates are pinged. */
export const PRE_PING_LEAD_MS: Millis = 2_000;
/**
 * How long before the candidate a live holder yields to stops counting as alive (its last renewal
 * ELECTION_DURATION_MS old) it is pinged, and again after each answer while the holder has not let
 * go, so 2.5 s after each renewal. The answer then has 2.5 s to come back before the candidate goes
 * stale; the ping's way to its cluster and the answer's way back took up to 1.7 s on the bench's most
 * loaded machine. A ping still unanswered at the release holds nothing up while the renewal before it
 * counts (pings.ts, winnerAlreadyAlive). Each ping is a step, a table write, a LeaseCandidate write
 * and the answer's ingest, a dozen requests in all, and pings sent more often land beside the release
 * they prepare for (docs/differences.md, item 16: "The successor is kept alive while the holder
 * yields").
 */
export const PREFERRED_REFRESH_LEAD_MS: Millis = 2_500;
/**
 * How far behind the truth ingest lets a held lease's recorded deadline fall before it records a
 * renewal: a third of the lease duration (5 s of kube-scheduler's 15 s). A record that lags only
 * brings the holder's timers earlier, never later, and a takeover confirms with the holder's own
 * cluster first (docs/design.md, "Renewals kept by ingest"). A third leaves a holder renewing at
 * client-go's retry period (2 s of 15 s; at most its renew deadline, 10 s) room to have its next
 * record in before the pre-ping timer at the recorded deadline less PRE_PING_LEAD_MS: 5 + 2 < 13.
 */
export function renewalRecordBoundMs(leaseDurationSeconds: number): Millis {
  return Math.floor((leaseDurationSeconds * 1000) / 3);
}

/**
 * The holder's own lease duration as far as we know it: the longer of the record's and the one its
 * Lease shows. The record can lag the holder's own (a decision's default, its renewal not yet
 * recorded), and every wait for a holder to stop leading, or for a legacy elector to take over, is
 * the holder's.
 */
export function holderLeaseSeconds(recorded: number | undefined, shown: number | undefined): number {
  return Math.max(recorded ?? DEFAULT_LEASE_DURATION_SECONDS, shown ?? 0);
}
