import { admissibleCandidates, holderOf, leaseDeadline } from '../election/liveness.js';
import type { Millis } from '../election/types.js';
import type { LeaseState } from '../ports/store.js';

/**
 * Since when a lease that someone stands for has had no live holder; undefined while a holder's
 * lease runs, or when no live candidate stands (a workload taken away is not a fault). For the
 * operator only: nothing is decided from it.
 *
 * It has been leaderless since its holder's deadline passed, since its holder released it, or, if
 * it never had one, since its first decision or (before any) its oldest candidate was created.
 */
export function leaderlessSince(state: LeaseState, now: Millis): Millis | undefined {
  const record = state.lease?.record;
  const standing = admissibleCandidates(state.candidates, now, record);
  if (standing.length === 0) return undefined;
  if (record !== undefined && holderOf(record) !== undefined) {
    const deadline = leaseDeadline(record);
    if (deadline !== undefined && deadline >= now) return undefined;
    return deadline ?? record.acquireTime ?? now;
  }
  return record?.releasedAt ?? record?.renewTime ?? Math.min(...standing.map((c) => c.creationTimestamp));
}
