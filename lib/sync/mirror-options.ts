import { holderOf } from '../election/liveness.js';
import type { LeaseRecord } from '../election/types.js';
import type { ClusterPort } from '../ports/cluster.js';
import type { MirrorDeps } from '../ports/coordinator.js';
import { clustersOf, type LeaseKey } from '../ports/lease-key.js';
import {
  type ClusterLeaseView,
  type MirrorOptions,
  type MirrorPlan,
  planMirror,
  revokedInTerm,
} from './desired-lease.js';
import { keptFields } from './lease-fields.js';

/**
 * What planMirror needs to know of one cluster for one decision: the fields the cluster keeps, and
 * whether the holder is revoked there (its own cluster, a holder asked to yield, and a preemption of
 * Revoke, or Auto where the cluster drops preferredHolder).
 *
 * Under Auto, a revoke of this term that the cluster's Lease (`current`) already shows is carried
 * on whatever this client has learned: each container learns what a cluster keeps from its own
 * first write there, and a new one would otherwise write the holder back over the revoke (letting
 * it renew), learn, and revoke again with a new stamp, starting the successor's wait over.
 */
export function mirrorOptions(
  deps: Pick<MirrorDeps, 'preemption' | 'clock'>,
  client: ClusterPort,
  key: LeaseKey,
  record: LeaseRecord,
  home: boolean,
  current: ClusterLeaseView | undefined,
): MirrorOptions {
  const kept = keptFields(client);
  if (!home || record.preferredHolder === undefined || holderOf(record) === undefined) return { kept };
  const policy = deps.preemption?.(key, client.name) ?? 'Auto';
  const revoke =
    policy === 'Revoke' || (policy === 'Auto' && (!kept.preferredHolder || revokedInTerm(record, current)));
  return revoke ? { kept, revokeAt: (deps.clock ?? Date.now)() } : { kept };
}

/**
 * A decision's plan for one cluster, with its options: whether it revokes the holder there, and
 * whether it would take back our revoke of this term (write over it with something else).
 */
export function planCluster(
  deps: Pick<MirrorDeps, 'preemption' | 'clock'>,
  client: ClusterPort,
  key: LeaseKey,
  record: LeaseRecord,
  view: ClusterLeaseView | undefined,
): { plan: MirrorPlan; revoking: boolean; unrevoking: boolean } {
  const home = (record.holderCluster ?? clustersOf(key)[0]) === client.name;
  const options = mirrorOptions(deps, client, key, record, home, view);
  const plan = planMirror(record, home, view, options);
  const revoking = options.revokeAt !== undefined;
  return { plan, revoking, unrevoking: plan.write && !revoking && revokedInTerm(record, view) };
}
