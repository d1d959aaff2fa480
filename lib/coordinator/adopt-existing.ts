import { REVOKED_HOLDER } from '../api/lease.js';
import { onConditionFailed } from '../errors.js';
import { type HolderLeaseSeen, isLeaseAbsent } from '../ports/cluster.js';
import type { CoordinatorDeps } from '../ports/coordinator.js';
import { clustersOf, type LeaseKey } from '../ports/lease-key.js';
import type { LeaseObservation } from '../ports/store.js';
import { stampedByUs, unplacedHolding } from './foreign-holding.js';

export interface AdoptionCheck {
  /** A Lease was recorded: decide again from the record. */
  readonly adopted: boolean;
  /** Clusters that answered the read (the successor check need not read them again). */
  readonly answered: readonly string[];
}

/**
 * Before the first decision of a lease the table has no record of, look at what its clusters
 * already show. A Lease that someone holds there (a legacy elector, before any candidate came to
 * us: upstream's upgrade skew), or that carries a term of ours from a table since lost (recreated,
 * or restored from a backup), is recorded first; the caller then decides again from that record,
 * so a live holder is only asked to yield (rule 3), and the new term goes above every term shown
 * (rule 4, seenHoldingTerm). Without it, the first decision would be written over the live holder,
 * or under a term the mirror refuses to lower, so it would never reach the cluster.
 *
 * It runs here, in the decider, rather than where candidates come in, so that every path to a
 * first decision takes it: ingest, the HTTP API, the stream, the sweep. Every cluster of a lease
 * group is read (a legacy elector may hold the Lease in any of them), a held Lease is preferred,
 * and a cluster that does not answer is left out: the successor check then keeps the election out
 * of it. A held Lease counts as renewed now, on our clock (rule 5): a holder long dead holds the
 * first election up by one lease duration, after which its expiry is confirmed as any other.
 *
 * Our revoke or a takeover's fence, read (holderLeaseReader) as no holder, is recorded as a holding by
 * the placeholder (REVOKED_HOLDER), dated now, as any holding adopted: the holder it took off may lead
 * until one of its lease durations after its last renewal (docs/clusters.md, "Preemption"), and read
 * as no holder, the first decision would name a successor at once beside it. So is our copy in a group
 * of a decision the table lost, naming a holder no cluster shows renewing (unplacedHolding).
 */
export async function adoptExistingLease(deps: CoordinatorDeps, key: LeaseKey): Promise<AdoptionCheck> {
  const read = deps.readHolderLease;
  if (read === undefined) return { adopted: false, answered: [] };
  const clusters = clustersOf(key);
  const reads = await Promise.allSettled(clusters.map((cluster) => read(cluster, key)));
  const answered: string[] = [];
  const seen: HolderLeaseSeen[] = [];
  reads.forEach((result, i) => {
    const cluster = clusters[i] as string;
    if (result.status === 'rejected') {
      deps.logger.warn('cannot read the Lease before the first decision; deciding without it', {
        lease: key,
        cluster,
        error: result.reason as Error,
      });
      return;
    }
    answered.push(cluster);
    if (result.value !== undefined && !isLeaseAbsent(result.value)) seen.push(result.value);
  });
  const highestShownTerm = Math.max(0, ...seen.map((lease) => lease.shownTerm ?? 0));
  const chosen = chooseAdopted(seen, highestShownTerm, clusters.length > 1);
  if (chosen === undefined) return { adopted: false, answered };
  deps.logger.info('recording the Lease the clusters already show before the first decision', {
    lease: key,
    cluster: chosen.cluster,
    holder: chosen.holderIdentity,
    highestShownTerm,
  });
  // Fails only when another writer recorded the lease first: deciding again reads that record too.
  await deps.store
    .observeLease(key, { ...chosen, highestShownTerm }, undefined, deps.clock())
    .catch(onConditionFailed(undefined));
  return { adopted: true, answered };
}

/**
 * The Lease to record, of those the clusters show. One under an older term of ours than another shows
 * is a state a later decision of the lost table replaced, and is passed over: recorded, a live holder
 * under the newer term would be written over. Of the rest, our placeholder first: the other clusters
 * of a group show our copies of the holder it took off. Then a holding its holder stamped itself: in
 * a group, the others may be our copies of it. Then any holding, and last a Lease that shows only a term.
 */
function chooseAdopted(
  all: readonly HolderLeaseSeen[],
  newest: number,
  group: boolean,
): LeaseObservation | undefined {
  const seen = all.filter((lease) => lease.shownTerm === undefined || lease.shownTerm === newest);
  const placeholder = (lease: HolderLeaseSeen) => lease.revokedAt !== undefined || lease.fenced === true;
  const chosen =
    seen.find(placeholder) ??
    seen.find((lease) => lease.holderIdentity !== '' && !stampedByUs(lease)) ??
    seen.find((lease) => lease.holderIdentity !== '') ??
    seen.find((lease) => lease.shownTerm !== undefined);
  if (chosen === undefined) return undefined;
  const { revokedAt: _revokedAt, fenced: _fenced, ...shown } = chosen;
  return placeholder(chosen) || unplacedHolding({ ...chosen, term: chosen.shownTerm }, undefined, group)
    ? { ...shown, holderIdentity: REVOKED_HOLDER }
    : chosen;
}
