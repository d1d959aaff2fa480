import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ClustersConfig } from '../clusters/config.js';
import { noCaller } from '../http/callers.js';
import { EmfMetrics } from '../metrics/emf-metrics.js';
import type { HttpRouteDeps } from '../ports/http.js';
import { countConditionalFailures } from '../store/conditional-failures.js';
import { DynamoDbStore } from '../store/dynamodb-store.js';
import { type ConfigPolicies, configPolicies } from '../wiring/policies.js';
import { tableClient } from './aws-clients.js';
import { loadConfig, type RuntimeConfig } from './config.js';

export const logger = new Logger({ serviceName: 'lease-coordinator' });

/**
 * The wiring every deployed function shares, and all the HTTP functions (heartbeat, leases) get:
 * the table, the clusters config and the policies and callers it sets. Nothing here imports a
 * timer queue or a cluster client, so the HTTP bundles stay small and start fast (docs/deploy.md,
 * "Bundles").
 */
export interface HttpDeps extends HttpRouteDeps {
  readonly config: RuntimeConfig;
  readonly dynamodb: DynamoDBClient;
  readonly store: DynamoDbStore;
  /** The clusters config from SSM; absent without CLUSTERS_CONFIG_PARAMETER. */
  readonly clusters?: ClustersConfig;
  readonly policies: ConfigPolicies;
  /** Counted during an invocation, written to the log once at its end (flushAfter). */
  readonly metrics: EmfMetrics;
}

let cached: Promise<HttpDeps> | undefined;

/**
 * Built once per Lambda container (clients are reused across invocations; they hold no election
 * state, so losing them is safe). A failed build is retried by the next invocation.
 */
export function deployedHttpDeps(): Promise<HttpDeps> {
  cached ??= build().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

async function build(): Promise<HttpDeps> {
  const config = loadConfig();
  const dynamodb = tableClient({
    region: config.AWS_REGION,
    ...(config.DYNAMODB_ENDPOINT !== undefined && { endpoint: config.DYNAMODB_ENDPOINT }),
  });
  const metrics = new EmfMetrics(config.METRICS_SERVICE);
  countConditionalFailures(dynamodb, metrics);
  const base = {
    config,
    dynamodb,
    metrics,
    store: new DynamoDbStore(dynamodb, config.TABLE_NAME),
    clock: Date.now,
    logger,
  };
  if (config.CLUSTERS_CONFIG_PARAMETER === undefined) {
    logger.info('no clusters config (CLUSTERS_CONFIG_PARAMETER): the HTTP API answers every request 401');
    const policies = configPolicies(undefined, noCaller);
    return { ...base, policies, leases: policies.leases, callers: policies.callers };
  }
  // Loaded by the first call, which reads the parameter: the SSM client and the YAML parser are
  // a third of a cold import otherwise (docs/deploy.md, "Bundles").
  const { loadClustersConfig } = await import('./clusters-parameter.js');
  const clusters = await loadClustersConfig(config.CLUSTERS_CONFIG_PARAMETER, config.AWS_REGION);
  const policies = configPolicies(clusters, noCaller);
  return { ...base, clusters, policies, leases: policies.leases, callers: policies.callers };
}
