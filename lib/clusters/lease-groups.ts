import { type LeaseResolver, scopeOf } from '../coordinator/ports.js';
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
