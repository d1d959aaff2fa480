import { admissibleCandidates, holderOf, leaseDeadline } from '../election/liveness.js';
import type { Millis } from '../election/types.js';
import type { Metrics } from '../ports/metrics.js';
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

/**
 * The sweep's count of leases without a live holder, and the longest such wait, as its scan saw
 * them (a partition the scan showed in pieces is left out). Reported on every sweep, zeros
 * included, so that an alarm sees a value each minute.
 */
export class LeaderlessTally {
  private count = 0;
  private oldest: Millis | undefined;

  constructor(private readonly now: Millis) {}

  add(state: LeaseState): void {
    const since = leaderlessSince(state, this.now);
    if (since === undefined) return;
    this.count++;
    this.oldest = Math.min(this.oldest ?? since, since);
  }

  report(metrics: Metrics): void {
    metrics.record('LeasesWithoutLiveHolder', this.count);
    const longestMs = this.oldest === undefined ? 0 : Math.max(0, this.now - this.oldest);
    metrics.record('LongestWithoutLiveHolder', Math.floor(longestMs / 1000));
  }
}
