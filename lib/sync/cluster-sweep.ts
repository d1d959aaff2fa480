import { formatMicroTime } from '../api/time.js';
import { holderHome } from '../coordinator/holder-home.js';
import type { RawObject } from '../ports/cluster.js';
import type { MirrorDeps } from '../ports/coordinator.js';
import { clustersOf, type LeaseKey } from '../ports/lease-key.js';
import type { Clock } from '../ports/schedule.js';
import type { LeaseState } from '../ports/store.js';
import { planMirror, viewOf } from './desired-lease.js';
import { collectExpiredCandidates } from './gc.js';
import { mirrorLease } from './mirror.js';
import { mirrorOptions } from './mirror-options.js';

/** One sweep's pass over one lease in the clusters (see handleSweep's clusterPass). */
export type ClusterPass = (key: LeaseKey, scanned?: LeaseState) => Promise<void>;

/**
 * The sweep's cluster pass, for one sweep: collect expired candidates in their clusters, and
 * repair Leases that differ from their decision.
 *
 * Each cluster's Leases are listed once per sweep, and a lease the scan showed quiet is compared
 * with its listed Leases: only one that differs (or has a ping to send) is mirrored, from a fresh
 * read. Reading every Lease in every cluster one by one would be a GET per lease per cluster each
 * minute: 20,000 a minute for 10,000 leases over two clusters, which neither fits the minute
 * nor is fair to the apiservers.
 *
 * The comparison leaves renewTime out: the mirror follows each renewal as it happens, and a list
 * taken seconds before or after the scan almost always shows a different one. A cluster that
 * cannot be listed is left out (a write to it would fail the same way); ingest's relist finds its
 * drift when it is back.
 */
export function clusterSweepPass(
  deps: MirrorDeps,
  clock: Clock,
  /** HTTP-only clusters of the config: nothing to list, collect or repair there. */
  httpOnly: (cluster: string) => boolean = () => false,
): ClusterPass {
  const listed = new Map<string, Promise<Map<string, RawObject> | undefined>>();
  const leasesOf = (cluster: string) => {
    let leases = listed.get(cluster);
    if (leases === undefined) {
      leases = listLeases(deps, cluster);
      listed.set(cluster, leases);
    }
    return leases;
  };
  const differs = async (key: LeaseKey, state: LeaseState): Promise<boolean> => {
    if (state.candidates.some((c) => c.awaitingAck === true)) return true;
    const lease = state.lease;
    if (lease === undefined) return false;
    const clusters = clustersOf(key);
    for (const cluster of clusters) {
      const leases = await leasesOf(cluster);
      if (leases === undefined) continue;
      const raw = leases.get(`${key.namespace}/${key.name}`);
      const view = raw === undefined ? undefined : viewOf(raw);
      const home = holderHome(key, state, view) === cluster;
      const renewTime =
        view?.renewTime !== undefined && lease.record.renewTime !== undefined
          ? formatMicroTime(lease.record.renewTime)
          : view?.renewTime;
      const client = await deps.clusters.get(cluster);
      const plan = planMirror(
        lease.record,
        home,
        view === undefined ? undefined : { ...view, renewTime },
        mirrorOptions(deps, client, key, lease.record, home, view),
      );
      if (plan.write) return true;
    }
    return false;
  };
  return async (key, scanned) => {
    if (clustersOf(key).every(httpOnly)) return;
    await collectExpiredCandidates(deps, key, clock(), scanned);
    if (scanned === undefined || (await differs(key, scanned))) await mirrorLease(deps, key);
  };
}

async function listLeases(deps: MirrorDeps, cluster: string): Promise<Map<string, RawObject> | undefined> {
  try {
    const client = await deps.clusters.get(cluster);
    const { items } = await client.listLeases();
    const byName = new Map<string, RawObject>();
    for (const item of items) byName.set(`${item.metadata?.namespace}/${item.metadata?.name}`, item);
    return byName;
  } catch (error) {
    deps.logger.warn('cannot list the cluster’s Leases; the sweep leaves it out', {
      cluster,
      error: error as Error,
    });
    return undefined;
  }
}
