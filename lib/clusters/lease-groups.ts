import type { HolderClusterUnreachable, Preemption, PreemptionPolicy } from '../ports/coordinator.js';
import { type LeaseKey, type LeaseResolver, scopeOf } from '../ports/lease-key.js';
import type { ClustersConfig } from './config.js';

/**
 * Resolves a cluster's lease to its partition: the lease group's when the configuration puts
 * it in one, otherwise the cluster's own (the upstream way, coordinated inside one cluster).
 */
export function leaseResolver(config: Pick<ClustersConfig, 'leaseGroups'>): LeaseResolver {
  const groups = new Map<string, string>();
  for (const group of config.leaseGroups) {
    const scope = scopeOf(group.clusters);
    for (const cluster of group.clusters) groups.set(`${cluster}/${group.namespace}/${group.name}`, scope);
  }
  return (cluster, namespace, name) => ({
    scope: groups.get(`${cluster}/${namespace}/${name}`) ?? cluster,
    namespace,
    name,
  });
}

/**
 * Each lease's choice when its holder's cluster cannot be read: the lease group's setting, and
 * `Wait` for a lease of one cluster (a new holder there could not be told while it is out of reach).
 */
export function holderClusterPolicy(
  config: Pick<ClustersConfig, 'leaseGroups'>,
): (key: LeaseKey) => HolderClusterUnreachable {
  const policies = new Map<string, HolderClusterUnreachable>();
  for (const group of config.leaseGroups)
    policies.set(
      `${scopeOf(group.clusters)}/${group.namespace}/${group.name}`,
      group.holderClusterUnreachable,
    );
  return (key) => policies.get(`${key.scope}/${key.namespace}/${key.name}`) ?? 'Wait';
}

/**
 * Each lease's preemption: its lease group's setting, else the setting of the cluster its holder
 * lives in, else Auto (decided by what that cluster keeps; lib/sync/lease-fields.ts).
 */
export function preemptionPolicy(config: Pick<ClustersConfig, 'clusters' | 'leaseGroups'>): PreemptionPolicy {
  const byGroup = new Map<string, Preemption>();
  for (const group of config.leaseGroups)
    if (group.preemption !== undefined)
      byGroup.set(`${scopeOf(group.clusters)}/${group.namespace}/${group.name}`, group.preemption);
  const byCluster = new Map<string, Preemption>();
  for (const cluster of config.clusters)
    if (cluster.preemption !== undefined) byCluster.set(cluster.name, cluster.preemption);
  return (key, holderCluster) =>
    byGroup.get(`${key.scope}/${key.namespace}/${key.name}`) ?? byCluster.get(holderCluster) ?? 'Auto';
}
