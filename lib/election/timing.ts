import type { Millis } from './types.js';

/** Upstream constants (docs/design.md, U1); names follow the controller's. */
export const ELECTION_DURATION_MS: Millis = 5_000;
export const DEFAULT_LEASE_DURATION_SECONDS = 5;
export const CANDIDATE_VALID_MS: Millis = 30 * 60_000;
/** A candidate older than this is pinged so that its liveness is refreshed before it expires. */
export const CANDIDATE_REFRESH_MS: Millis = CANDIDATE_VALID_MS / 2;
/** How long before a silent holder's lease runs out the other candidates are pinged. */
export const PRE_PING_LEAD_MS: Millis = 2_000;
