import { subMillisecond } from '../api/time.js';
import { isHolderCandidate } from '../election/liveness.js';
import type { LeaseRecord } from '../election/types.js';
import { clustersOf, type LeaseKey } from '../ports/lease-key.js';
import type { StoredCandidate } from '../ports/store.js';

/** What the holder's home is judged on: the record, and the candidates stored beside it. */
export interface HeldLease {
  readonly lease?: { readonly record: LeaseRecord };
  readonly candidates: readonly StoredCandidate[];
}

/**
 * The holder heartbeats over HTTP (its candidate has no resourceVersion: lib/http/heartbeat-api.ts),
 * so it renews over HTTP too (PUT …/holder), where no cluster's Lease shows it.
 */
export function heardOverHttp({ lease, candidates }: HeldLease): boolean {
  return candidates.some((c) => isHolderCandidate(c, lease?.record) && c.resourceVersion === undefined);
}

/** What a cluster's Lease shows of its holder, as read there. */
export interface LeaseShown {
  readonly holderIdentity?: string;
  readonly renewTime?: string;
}

/**
 * The cluster whose Lease is the holder's own: it renews and releases it there itself, as client-go
 * does, so that Lease is the truth about the holder (ingest), and we write only the fields it does
 * not keep (planMirror). That is the cluster it holds from (the scope's first before anyone holds).
 *
 * A holder heard over HTTP that renews through our API (PUT …/holder) has none, even in a cluster
 * ingest also reads (kubeconfig and httpCallers both): every cluster's Lease, its own included, only
 * mirrors the decision, renewTime too, so client-go electors there see it live for as long as it
 * renews, and one that takes it is a new holding, as in a lease group's other clusters. That is what
 * its Lease (`shown`) tells: none yet, or our own write naming it, stamped in whole milliseconds. Any
 * other Lease keeps the home: the holder renewing it itself (a client-go elector whose heartbeats are
 * pushed over HTTP, a cluster without the LeaseCandidate API, stamps microseconds), its release, our
 * revoke or fence of it, or another elector's holding, each read there as for any client-go holder.
 * One client-go renewal in a thousand lands on a whole millisecond: read as ours, it is one mirror
 * write over the holder's renewal, which its next retry renews again. The Lease's managedFields are
 * not asked here: a renewTime another manager set (a hand edit, a restore, a version of ours that
 * named no field manager) would make the cluster the HTTP holder's home, and the mirror would stop
 * keeping its Lease live while it leads over HTTP.
 */
export function holderHome(key: LeaseKey, held: HeldLease, shown?: LeaseShown): string | undefined {
  const home = held.lease?.record.holderCluster ?? clustersOf(key)[0];
  if (!heardOverHttp(held)) return home;
  const oursNamingIt =
    shown === undefined ||
    (shown.holderIdentity === held.lease?.record.holderIdentity && !subMillisecond(shown.renewTime));
  return oursNamingIt ? undefined : home;
}
