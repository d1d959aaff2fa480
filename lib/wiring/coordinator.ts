import type { Logger } from '@aws-lambda-powertools/logger';
import type { ClusterSource } from '../ports/cluster.js';
import type { IngestDeps, RequeueDeps } from '../ports/coordinator.js';
import type { DecisionHistory } from '../ports/history.js';
import type { HttpApiDeps } from '../ports/http.js';
import type { Metrics } from '../ports/metrics.js';
import type { Clock, TimerCover, TimerQueue, TimerRedelivery } from '../ports/schedule.js';
import type { CoordinatorStore } from '../ports/store.js';
import { holderLeaseFence, holderLeaseReader } from '../sync/holder-lease-reader.js';
import type { ConfigPolicies } from './policies.js';

/** The clients of the clusters the coordinator reaches over Kubernetes (lib/kube/registry.ts). */
export interface ClusterClients extends ClusterSource {
  /** The clusters reached over Kubernetes: the ones ingest watches. */
  names(): string[];
  /** A cluster of the config with no Kubernetes access: nothing of it to read or write there. */
  httpOnly(name: string): boolean;
}

/** What ingest, the mirror and the sweep's cluster pass work with. */
export interface ClusterWiring extends IngestDeps {
  readonly clusters: ClusterClients;
}

/** The coordinator's dependencies, and the cluster side's when a cluster is reached over Kubernetes. */
export interface CoordinatorWiring extends HttpApiDeps, RequeueDeps {
  readonly clusterWiring?: ClusterWiring;
}

export interface WiringParts {
  readonly store: CoordinatorStore;
  readonly timers: TimerQueue;
  /** How `requeue` brings a failed timer message back soon (the same queue's adapter as `timers`). */
  readonly redelivery?: TimerRedelivery;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policies: ConfigPolicies;
  /** Where decisions leave their records; none kept when absent. */
  readonly history?: DecisionHistory;
  /** Where what happens is counted (EMF in Lambda, Prometheus under npm start); unset, nowhere. */
  readonly metrics?: Metrics;
  /** Absent (or naming no cluster) when no cluster is reached over Kubernetes: nothing is read there. */
  readonly clients?: ClusterClients;
  /** Ingest's timer cover (docs/design.md, "Timers kept by ingest"); absent, every deadline is a timer. */
  readonly timerCover?: TimerCover;
}

/**
 * The one builder of the coordinator's dependencies, for every runtime: the Lambda functions
 * (lib/runtime/deps.ts), `npm start` and the tests (lib/local/local-coordinator.ts), the bench
 * through the local runtime. The runtimes differ only in the parts they hand in (the table,
 * timers, clock and cluster clients), never in how those are put together.
 */
export function wireCoordinator(parts: WiringParts): CoordinatorWiring {
  const { store, timers, redelivery, clock, logger, policies, clients, history, metrics, timerCover } = parts;
  const { preemption, holderClusterUnreachable } = policies;
  const deps: RequeueDeps & Pick<HttpApiDeps, 'callers'> = {
    store,
    timers,
    clock,
    logger,
    leases: policies.leases,
    callers: policies.callers,
    ...(redelivery !== undefined && { redelivery }),
    ...(preemption !== undefined && { preemption }),
    ...(history !== undefined && { history }),
    ...(metrics !== undefined && { metrics }),
    // Only ingest keeps deadlines, and only where it watches a cluster.
    ...(timerCover !== undefined && clients !== undefined && clients.names().length > 0 && { timerCover }),
  };
  if (clients === undefined || clients.names().length === 0) return deps;
  return {
    ...deps,
    // Takeovers, first decisions and successors read the Lease in the cluster first.
    readHolderLease: holderLeaseReader(clients),
    fenceHolderLease: holderLeaseFence(clients),
    ...(holderClusterUnreachable !== undefined && { holderClusterUnreachable }),
    clusterWiring: {
      store,
      clusters: clients,
      logger,
      clock,
      leases: policies.leases,
      ...(preemption !== undefined && { preemption }),
      ...(holderClusterUnreachable !== undefined && { holderClusterUnreachable }),
      ...(metrics !== undefined && { metrics }),
    },
  };
}
