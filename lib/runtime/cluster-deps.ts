import type { ClustersConfig } from '../clusters/config.js';
import { holderClusterPolicy } from '../clusters/lease-groups.js';
import { ClusterRegistry, defaultFactory } from '../clusters/registry.js';
import type { CoordinatorDeps } from '../coordinator/reconcile-lease.js';
import { holderLeaseReader } from '../sync/holder-lease-reader.js';
import type { IngestDeps } from '../sync/ingest.js';
import { type DeployedDeps, deployedDeps } from './deps.js';

/**
 * What a cluster reached over Kubernetes adds to the deployed wiring. The only runtime module that
 * imports the cluster registry (and with it the Kubernetes client): deps.ts loads it on demand, and
 * the cluster functions (ingest, mirror) import it at start.
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
      leases: deps.leases,
      ...(deps.preemption !== undefined && { preemption: deps.preemption }),
    },
  };
}

let toldNoClusters = false;

/**
 * For the cluster functions (ingest, mirror): their deps, or undefined when no cluster is reached
 * over Kubernetes (no clusters config, or only HTTP-only clusters). They then do nothing: the
 * config is an SSM parameter read at cold start, so the functions are deployed either way, and
 * a call that threw would be retried and parked in the failure queue over and over. Said once
 * per container.
 */
export async function deployedClusterDeps(): Promise<DeployedDeps['cluster']> {
  const deps = await deployedDeps();
  if (deps.cluster === undefined && !toldNoClusters) {
    toldNoClusters = true;
    deps.logger.info('no cluster with Kubernetes access is configured: nothing to watch or mirror');
  }
  return deps.cluster;
}
