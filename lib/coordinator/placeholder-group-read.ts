import { REVOKED_HOLDER } from '../api/lease.js';
import type { Millis } from '../election/types.js';
import { type HolderLeaseReader, type HolderLeaseSeen, isLeaseAbsent } from '../ports/cluster.js';
import type { CoordinatorDeps } from '../ports/coordinator.js';
import { clustersOf, type LeaseKey } from '../ports/lease-key.js';
import type { StoredLease } from '../ports/store.js';

/** How the takeover check judges a cluster's read: news of a holder, or a cluster that did not answer. */
export interface GroupReadVerdicts<Verdict> {
  readonly news: (seen: HolderLeaseSeen, answered: Millis) => Promise<Verdict | undefined>;
  readonly unreachable: (cluster: string, error: Error, now: Millis) => Promise<Verdict>;
}

/**
 * A holding by our placeholder in a lease group (a table restored or recreated under our revoke, our
 * fence, or our copy of a lost decision: lib/sync/lease-rules.ts) does not say which cluster the holder
 * it stands for leads from: the cluster it was recorded from is only where a Lease of ours was read
 * first. So before it is taken over, every other cluster of the group is read as the holder's own is.
 * One that does not answer proves nothing (the holder may renew there while only we are cut off): the
 * unreachable policy applies. One whose Lease another holder stamped shows who leads: it is recorded,
 * and the lease decided again. Undefined when every cluster answered and none shows a holder.
 */
export async function readRestOfGroup<Verdict>(
  deps: CoordinatorDeps,
  key: LeaseKey,
  stored: StoredLease,
  read: HolderLeaseReader,
  verdicts: GroupReadVerdicts<Verdict>,
): Promise<Verdict | undefined> {
  const clusters = clustersOf(key);
  if (stored.record.holderIdentity !== REVOKED_HOLDER || clusters.length < 2) return undefined;
  const recordedFrom = stored.record.holderCluster ?? clusters[0];
  const others = clusters.filter((cluster) => cluster !== recordedFrom);
  const reads = await Promise.allSettled(others.map((cluster) => read(cluster, key)));
  const answered = deps.clock();
  for (const [i, result] of reads.entries()) {
    if (result.status === 'rejected')
      return verdicts.unreachable(others[i] as string, result.reason as Error, answered);
  }
  for (const result of reads) {
    const seen = result.status === 'fulfilled' ? result.value : undefined;
    if (seen === undefined || isLeaseAbsent(seen)) continue;
    const verdict = await verdicts.news(seen, answered);
    if (verdict !== undefined) return verdict;
  }
  return undefined;
}
