import { parseLease, REVOKED_HOLDER } from '../api/lease.js';
import { CoordinatorError, HttpOnlyClusterError } from '../errors.js';
import type { ClusterSource, HolderLeaseReader } from '../ports/cluster.js';
import { viewOf } from './desired-lease.js';

/**
 * HolderLeaseReader over the registered clusters: one GET of the Lease in the named cluster. An
 * HTTP-only cluster has no Lease: its candidates read theirs from our API, so there is nothing
 * there to confirm or adopt (not an unreachable cluster, which would hold a takeover up). The
 * registry says so with HttpOnlyClusterError, through any wrapper (DecisionReads) around it.
 */
export function holderLeaseReader(clusters: ClusterSource): HolderLeaseReader {
  return async (cluster, key) => {
    let client: Awaited<ReturnType<ClusterSource['get']>>;
    try {
      client = await clusters.get(cluster);
    } catch (error) {
      if (error instanceof HttpOnlyClusterError) return undefined;
      throw error;
    }
    const raw = await client.readLease({ namespace: key.namespace, name: key.name });
    if (raw === undefined) return undefined;
    let record: ReturnType<typeof parseLease>['record'];
    try {
      record = parseLease(raw).record;
    } catch (error) {
      if (error instanceof CoordinatorError) return undefined;
      throw error;
    }
    if (record.renewTime === undefined || record.leaseDurationSeconds === undefined) return undefined;
    const shownTerm = viewOf(raw as Parameters<typeof viewOf>[0]).term;
    const revoked = record.holderIdentity === REVOKED_HOLDER;
    return {
      cluster,
      // A revoke of ours names no holder; its stamp is our clock's (planRevoke).
      holderIdentity: revoked ? '' : (record.holderIdentity ?? ''),
      ...(revoked && { revokedAt: record.renewTime }),
      leaseDurationSeconds: record.leaseDurationSeconds,
      renewTime: record.renewTime,
      ...(shownTerm !== undefined && { shownTerm }),
    };
  };
}
