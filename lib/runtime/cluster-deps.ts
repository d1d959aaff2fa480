import type { ClustersConfig } from '../clusters/config.js';
import { holderClusterPolicy } from '../clusters/lease-groups.js';
import { ClusterRegistry, defaultFactory } from '../clusters/registry.js';
import type { CoordinatorDeps } from '../coordinator/reconcile-lease.js';
import { holderLeaseReader } from '../sync/holder-lease-reader.js';
import type { IngestDeps } from '../sync/ingest.js';

/**
 * What a cluster reached over Kubernetes adds to the deployed wiring. The only runtime module that
 * imports the cluster registry (and with it the Kubernetes client): deps.ts loads it when a cluster
 * is reached over Kubernetes.
 */
export interface ClusterWiring {
  readonly readHolderLease: NonNullable<CoordinatorDeps['readHolderLease']>;
  readonly holderClusterUnreachable: NonNullable<CoordinatorDeps['holderClusterUnreachable']>;
  readonly cluster: IngestDeps & { readonly registry: ClusterRegistry; readonly config: ClustersConfig };
}

export function clusterWiring(deps: CoordinatorDeps, config: ClustersConfig): ClusterWiring {
  const registry = new ClusterRegistry(config, defaultFactory(process.cwd()));
  return {
    readHolderLease: holderLeaseReader(registry),
    holderClusterUnreachable: holderClusterPolicy(config),
    cluster: {
      store: deps.store,
      clusters: registry,
      registry,
      config,
      logger: deps.logger,
      clock: deps.clock,
      ...(deps.metrics !== undefined && { metrics: deps.metrics }),
      leases: deps.leases,
      ...(deps.preemption !== undefined && { preemption: deps.preemption }),
    },
  };
}
