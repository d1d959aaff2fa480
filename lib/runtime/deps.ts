import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { AWS_CALL_LIMITS } from '../aws-call-limits.js';
import { hasKubeAccess } from '../clusters/config.js';
import { ConfigError } from '../errors.js';
import type { EmfMetrics } from '../metrics/emf-metrics.js';
import type { DecisionHistory } from '../ports/history.js';
import { DynamoDbDecisionHistory } from '../store/decision-history.js';
import { TableLock } from '../store/table-lock.js';
import { TableTimerCover } from '../store/timer-cover.js';
import { type ClusterWiring, type CoordinatorWiring, wireCoordinator } from '../wiring/coordinator.js';
import { historyRetention, type RuntimeConfig } from './config.js';
import { deployedHttpDeps, logger } from './http-deps.js';
import { SqsTimerQueue } from './sqs-timer-queue.js';

export { logger };

export interface DeployedDeps extends CoordinatorWiring {
  /** Keeps one sweep running at a time (see TableLock). */
  readonly sweepLock: TableLock;
  readonly metrics: EmfMetrics;
}

let cached: Promise<DeployedDeps> | undefined;

/**
 * The deciding functions' wiring (elect, requeue, sweep; ingest and mirror through
 * deployedClusterDeps), built once per Lambda container by the one builder (wireCoordinator) from
 * the parts the HTTP functions share, an SQS timer queue (which also brings `requeue`'s failed
 * messages back soon) and, when a cluster is reached over Kubernetes, its clients. The HTTP callers
 * are the clusters config's `httpCallers`, and nobody without them (every request 401): a deployed
 * API is on the internet.
 */
export function deployedDeps(): Promise<DeployedDeps> {
  cached ??= build().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

async function build(): Promise<DeployedDeps> {
  const shared = await deployedHttpDeps();
  const { config, clusters } = shared;
  if (config.TIMER_QUEUE_URL === undefined)
    throw new ConfigError('invalid environment: TIMER_QUEUE_URL: required');
  const timers = new SqsTimerQueue(
    new SQSClient({ region: config.AWS_REGION, requestHandler: { ...AWS_CALL_LIMITS } }),
    config.TIMER_QUEUE_URL,
  );
  const parts = {
    store: shared.store,
    timers,
    redelivery: timers,
    clock: shared.clock,
    logger: shared.logger,
    policies: shared.policies,
    ...decisionHistory(shared.dynamodb, config),
    metrics: shared.metrics,
    timerCover: new TableTimerCover(shared.dynamodb, config.TABLE_NAME, shared.clock),
  };
  const sweepLock = new TableLock(shared.dynamodb, config.TABLE_NAME, 'sweep');
  // No cluster reached over Kubernetes (no config, or HTTP-only clusters): nothing to watch, mirror
  // or read there, and the cluster wiring is never loaded.
  if (clusters === undefined || !clusters.clusters.some(hasKubeAccess))
    return { ...wireCoordinator(parts), sweepLock, metrics: shared.metrics };
  // Loaded here, not at start: elect, requeue and sweep run without it when no cluster needs it.
  const { clusterClients } = await import('./cluster-deps.js');
  return {
    ...wireCoordinator({ ...parts, clients: clusterClients(clusters) }),
    sweepLock,
    metrics: shared.metrics,
  };
}

/** The decision history, unless the environment keeps none (DECISION_HISTORY_PER_LEASE=0). */
function decisionHistory(client: DynamoDBClient, config: RuntimeConfig): { history?: DecisionHistory } {
  const retention = historyRetention(config);
  if (retention === undefined) return {};
  return { history: new DynamoDbDecisionHistory(client, config.TABLE_NAME, retention) };
}

let toldNoClusters = false;

/**
 * For the cluster functions (ingest, mirror): their wiring, or undefined when no cluster is reached
 * over Kubernetes (no clusters config, or only HTTP-only clusters). They then do nothing: the
 * config is an SSM parameter read at cold start, so the functions are deployed either way, and
 * a call that threw would be retried and parked in the failure queue over and over. Said once
 * per container.
 */
export async function deployedClusterDeps(): Promise<ClusterWiring | undefined> {
  const deps = await deployedDeps();
  if (deps.clusterWiring === undefined && !toldNoClusters) {
    toldNoClusters = true;
    deps.logger.info('no cluster with Kubernetes access is configured: nothing to watch or mirror');
  }
  return deps.clusterWiring;
}
