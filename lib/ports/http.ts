import type { CoordinatorDeps } from './coordinator.js';

/**
 * What a request presents to prove who sent it, taken from the HTTP event by the route
 * (lib/http/callers.ts, callerCredentials), so that the check does not depend on API Gateway's event.
 */
export interface CallerCredentials {
  /** The IAM principal ARN that API Gateway verified (a SigV4 signature, the `/iam/` routes). */
  readonly iamSigner?: string;
  /** An `Authorization: Bearer` token; looked at only when no IAM signer was verified. */
  readonly bearerToken?: string;
}

/** Throws AuthenticationError or ForbiddenError unless the caller may act for `cluster`. */
export type CallerCheck = (cluster: string, caller: CallerCredentials) => void;

/**
 * What the HTTP routes use: they store and read, and never decide (elect does, woken by the table's
 * stream), so the deployed heartbeat and leases functions are built without timers or cluster clients.
 */
export interface HttpRouteDeps
  extends Pick<CoordinatorDeps, 'store' | 'clock' | 'logger' | 'leases' | 'metrics'> {
  readonly callers: CallerCheck;
}

/** What the HTTP API needs: the coordinator, and a caller check it must be given (no default). */
export interface HttpApiDeps extends CoordinatorDeps, HttpRouteDeps {}
