import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { parse as parseYaml } from 'yaml';
import { type ClustersConfig, hasKubeAccess, parseClustersConfig } from '../clusters/config.js';
import { holderClusterPolicy, leaseResolver, preemptionPolicy } from '../clusters/lease-groups.js';
import { ClusterRegistry, defaultFactory } from '../clusters/registry.js';
import { ungroupedLeases } from '../coordinator/ports.js';
import type { CoordinatorDeps } from '../coordinator/reconcile-lease.js';
import { ConfigError } from '../errors.js';
import { type CallerCheck, configuredCallers, noCaller } from '../http/callers.js';
import { DynamoDbStore } from '../store/dynamodb-store.js';
import { TableLock } from '../store/table-lock.js';
import { holderLeaseReader } from '../sync/holder-lease-reader.js';
import type { IngestDeps } from '../sync/ingest.js';
import { loadConfig } from './config.js';
import { SqsTimerQueue } from './sqs-timer-queue.js';

export const logger = new Logger({ serviceName: 'lease-coordinator' });

export interface DeployedDeps extends CoordinatorDeps {
  /**
   * Who may call the HTTP API: the clusters config's `httpCallers`, and nobody without them (every
   * request 401). Never open: a deployed API is on the internet.
   */
  readonly callers: CallerCheck;
  /** Keeps one sweep running at a time (see TableLock). */
  readonly sweepLock: TableLock;
  /** Present when the clusters config names a cluster reached over Kubernetes. */
  readonly cluster?: IngestDeps & { readonly registry: ClusterRegistry; readonly config: ClustersConfig };
}

let cached: Promise<DeployedDeps> | undefined;

/**
 * The deployed wiring, built once per Lambda container (clients are reused across invocations;
 * they hold no election state, so losing them is safe).
 */
export function deployedDeps(): Promise<DeployedDeps> {
  cached ??= build().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

async function build(): Promise<DeployedDeps> {
  const config = loadConfig();
  if (config.TIMER_QUEUE_URL === undefined)
    throw new ConfigError('invalid environment: TIMER_QUEUE_URL: required');
  const dynamodb = new DynamoDBClient({
    region: config.AWS_REGION,
    ...(config.DYNAMODB_ENDPOINT !== undefined && { endpoint: config.DYNAMODB_ENDPOINT }),
  });
  const store = new DynamoDbStore(dynamodb, config.TABLE_NAME);
  const base = {
    store,
    timers: new SqsTimerQueue(new SQSClient({ region: config.AWS_REGION }), config.TIMER_QUEUE_URL),
    clock: Date.now,
    logger,
    sweepLock: new TableLock(dynamodb, config.TABLE_NAME, 'sweep'),
  };
  if (config.CLUSTERS_CONFIG_PARAMETER === undefined) {
    logger.info('no clusters config (CLUSTERS_CONFIG_PARAMETER): the HTTP API answers every request 401');
    return { ...base, leases: ungroupedLeases, callers: noCaller };
  }
  const clusters = await loadClustersConfig(config.CLUSTERS_CONFIG_PARAMETER, config.AWS_REGION);
  const leases = leaseResolver(clusters);
  const preemption = preemptionPolicy(clusters);
  const callers = configuredCallers(clusters);
  // Only HTTP-only clusters: as without clusters, nothing to watch, mirror or read in Kubernetes.
  if (!clusters.clusters.some(hasKubeAccess)) return { ...base, leases, preemption, callers };
  const registry = new ClusterRegistry(clusters, defaultFactory(process.cwd()));
  return {
    ...base,
    leases,
    callers,
    readHolderLease: holderLeaseReader(registry),
    holderClusterUnreachable: holderClusterPolicy(clusters),
    preemption,
    cluster: {
      store,
      clusters: registry,
      registry,
      config: clusters,
      logger,
      clock: Date.now,
      leases,
      preemption,
    },
  };
}

async function loadClustersConfig(parameter: string, region: string): Promise<ClustersConfig> {
  const out = await new SSMClient({ region }).send(
    new GetParameterCommand({ Name: parameter, WithDecryption: true }),
  );
  if (out.Parameter?.Value === undefined) throw new ConfigError(`SSM parameter ${parameter} is empty`);
  try {
    return parseClustersConfig(parseYaml(out.Parameter.Value));
  } catch (error) {
    if (error instanceof ConfigError)
      throw new ConfigError(`${parameter}: ${error.message}`, { cause: error });
    throw new ConfigError(`${parameter} is not valid YAML: ${(error as Error).message}`, { cause: error });
  }
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
