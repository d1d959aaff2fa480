import type { ClustersConfig } from '../clusters/config.js';
import { ClusterRegistry, defaultFactory } from '../kube/registry.js';

/**
 * The clients of the clusters reached over Kubernetes. The only runtime module that imports the
 * cluster registry (and with it the apiserver client and kubeconfig/EKS/token auth): deps.ts loads
 * it when a cluster is reached over Kubernetes, so the functions that need none start without it.
 */
export function clusterClients(config: ClustersConfig): ClusterRegistry {
  return new ClusterRegistry(config, defaultFactory(process.cwd()));
}
