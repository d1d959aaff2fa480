import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import type { ClustersConfig } from '../clusters/config.js';
import { holderClusterPolicy, leaseResolver, preemptionPolicy } from '../clusters/lease-groups.js';
import { ClusterRegistry, defaultFactory } from '../clusters/registry.js';
import { type Clock, type LeaseKey, ungroupedLeases } from '../coordinator/ports.js';
import type { CoordinatorDeps } from '../coordinator/reconcile-lease.js';
import type { CandidateApiVersion } from '../election/types.js';
import { handleStreamBatch } from '../handlers/elect.js';
import { handleMirrorBatch } from '../handlers/mirror.js';
import { handleSweep, type SweepResult } from '../handlers/sweep.js';
import { handleTimerBatch } from '../handlers/timer.js';
import { anyCaller, configuredCallers, type HttpApiDeps } from '../http/callers.js';
import { handleHeartbeat } from '../http/heartbeat-api.js';
import { handleGetLease, handleHolder } from '../http/lease-api.js';
import { PrometheusMetrics } from '../metrics/prometheus-metrics.js';
import { countConditionalFailures } from '../store/conditional-failures.js';
import { DynamoDbStore } from '../store/dynamodb-store.js';
import { clusterSweepPass } from '../sync/cluster-sweep.js';
import { DecideNow } from '../sync/decide-now.js';
import { holderLeaseReader } from '../sync/holder-lease-reader.js';
import { runClusterIngest } from '../sync/ingest-runner.js';
import { type ClusterOutcome, type MirrorDeps, mirrorLease } from '../sync/mirror.js';
import { type DynamoDbLocal, startDynamoDbLocal } from './dynamodb-local.js';
import type { FilterPattern } from './event-filter.js';
import { startHttpServer } from './http-server.js';
import { invoke } from './invocations.js';
import { LocalTimerQueue } from './local-timer-queue.js';
import { type StreamHandler, StreamRunner } from './stream-runner.js';
import { createTable } from './table.js';

const FILTERS = JSON.parse(
  readFileSync(new URL('../../infra/stream-filters.json', import.meta.url), 'utf8'),
) as {
  elect: FilterPattern[];
  mirror: FilterPattern[];
};
export const LOCAL_TABLE = 'lease-coordinator-local';
const SWEEP_PERIOD_MS = 60_000;
const LEASE_PATH = '/clusters/{cluster}/namespaces/{namespace}/leases/{name}';

export interface LocalCoordinatorOptions {
  /** HTTP API port; 0 picks a free one. */
  readonly httpPort?: number;
  readonly clock?: Clock;
  /** Run streams, timers and the schedule on their own (npm start). Tests drive them instead. */
  readonly autonomous?: boolean;
  /** With `autonomous`, how often the sweep runs (default every minute, as deployed); 0: never on its own. */
  readonly sweepEveryMs?: number;
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  readonly observe?: (record: DynamoDBRecord) => void;
  /** Registered clusters: enables ingest (watches) and mirror (Lease writes, pings). */
  readonly clusters?: { readonly config: ClustersConfig; readonly configDir: string };
  /** Called after each cluster event ingest stored (tests wait on it; the view refreshes). */
  readonly onIngest?: () => void;
  /** Called after each timer delivery to `requeue` (tests wait on it while nothing else happens). */
  readonly onTimer?: () => void;
  /**
   * Called when ingest learns which LeaseCandidate API it reads in a cluster, and when that changes
   * (undefined: the cluster serves none).
   */
  readonly onCandidateApi?: (cluster: string, api: CandidateApiVersion | undefined) => void;
  /** How often ingest asks a cluster without the built-in LeaseCandidate API what it serves (tests shorten it). */
  readonly rediscoverEveryMs?: number;
  /** Called after each mirror pass with what every cluster of the lease now shows. */
  readonly onMirror?: (key: LeaseKey, outcomes: Record<string, ClusterOutcome>) => void;
  /**
   * Fault injection, for tests only (off by default): wraps the elect and mirror stream handlers,
   * so a test can make the "runtime" die part-way through a batch as a killed Lambda would.
   */
  readonly wrapHandler?: (consumer: 'elect' | 'mirror', handler: StreamHandler) => StreamHandler;
}

export interface LocalCoordinator {
  readonly url: string;
  readonly dynamodb: DynamoDbLocal;
  readonly tableName: string;
  readonly deps: CoordinatorDeps;
  readonly streams: StreamRunner;
  readonly timers: LocalTimerQueue;
  /** The second stream consumer, as on AWS: decisions and pings out to the clusters. */
  readonly mirror: StreamRunner;
  readonly registry: ClusterRegistry | undefined;
  /** What the runtime counted, served on GET /metrics in Prometheus' text format. */
  readonly metrics: PrometheusMetrics;
  /** Starts watching every registered cluster (npm start does; tests choose when). */
  startIngest(): void;
  sweep(): Promise<SweepResult>;
  stop(): Promise<void>;
}

/**
 * The whole coordinator on one machine, wired as serverless.yml wires it: DynamoDB Local with the
 * deployed table definition, the HTTP API, the stream into `elect` (with the deployed filters),
 * the timer queue into `requeue`, and the sweep schedule.
 */
export async function startLocalCoordinator(
  options: LocalCoordinatorOptions = {},
): Promise<LocalCoordinator> {
  const autonomous = options.autonomous ?? false;
  const wrap = options.wrapHandler ?? ((_consumer, handler: StreamHandler) => handler);
  const logger = new Logger({ serviceName: 'lease-coordinator', logLevel: options.logLevel ?? 'WARN' });
  const dynamodb = await startDynamoDbLocal();
  const cleanups: (() => unknown)[] = [() => dynamodb.stop()];
  try {
    const streamArn = await createTable(dynamodb.client, LOCAL_TABLE);
    const metrics = new PrometheusMetrics();
    countConditionalFailures(dynamodb.client, metrics);
    const reportError = (error: unknown) => logger.error('local runtime error', { error: error as Error });
    const registry =
      options.clusters === undefined
        ? undefined
        : new ClusterRegistry(options.clusters.config, defaultFactory(options.clusters.configDir));
    const httpOnly = (cluster: string) => registry?.httpOnly(cluster) ?? false;
    let deps: HttpApiDeps;
    let mirrorDeps: MirrorDeps;
    const timers = new LocalTimerQueue(
      (event) =>
        invoke('requeue', () =>
          // As deployed: requeue mirrors only when clusters are registered.
          handleTimerBatch(deps, event, registry === undefined ? undefined : mirrorDeps),
        ).finally(() => options.onTimer?.()),
      autonomous,
      reportError,
    );
    cleanups.push(() => timers.stop());
    deps = {
      store: new DynamoDbStore(dynamodb.client, LOCAL_TABLE),
      timers,
      clock: options.clock ?? Date.now,
      logger,
      metrics,
      leases: options.clusters === undefined ? ungroupedLeases : leaseResolver(options.clusters.config),
      // Open only without a clusters config: the HTTP server listens on 127.0.0.1 alone.
      callers: options.clusters === undefined ? anyCaller : configuredCallers(options.clusters.config),
      ...(registry !== undefined && { readHolderLease: holderLeaseReader(registry) }),
      ...(options.clusters !== undefined && {
        holderClusterUnreachable: holderClusterPolicy(options.clusters.config),
        preemption: preemptionPolicy(options.clusters.config),
      }),
    };
    mirrorDeps = {
      store: deps.store,
      clusters: registry ?? noClusters,
      logger,
      clock: deps.clock,
      metrics,
      ...(deps.preemption !== undefined && { preemption: deps.preemption }),
    };
    const streamsClient = new DynamoDBStreamsClient({
      endpoint: dynamodb.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    cleanups.push(() => streamsClient.destroy());
    const streams = new StreamRunner({
      client: streamsClient,
      streamArn,
      filters: FILTERS.elect,
      handler: wrap('elect', (event) => invoke('elect', () => handleStreamBatch(deps, event))),
      onError: reportError,
      ...(options.observe !== undefined && { observe: options.observe }),
    });
    cleanups.push(() => streams.stop());
    const mirror = new StreamRunner({
      client: streamsClient,
      streamArn,
      filters: FILTERS.mirror,
      handler: wrap('mirror', (event) =>
        invoke('mirror', () => handleMirrorBatch(mirrorDeps, event, options.onMirror, httpOnly)),
      ),
      onError: reportError,
    });
    cleanups.push(() => mirror.stop());
    // A fresh pass per sweep: it lists each cluster's Leases once.
    const sweep = () =>
      invoke('sweep', () =>
        handleSweep(
          deps,
          undefined,
          registry === undefined ? undefined : clusterSweepPass(mirrorDeps, deps.clock, httpOnly),
        ),
      );
    const ingest = new AbortController();
    cleanups.push(() => ingest.abort());
    const fastPath = new DecideNow(deps, mirrorDeps);
    cleanups.push(() => fastPath.idle());
    const startIngest = () => {
      for (const cluster of registry?.names() ?? []) {
        void invoke('ingest', () =>
          runClusterIngest(
            { ...mirrorDeps, clock: deps.clock, leases: deps.leases },
            cluster,
            ingest.signal,
            {
              onDrift: (key) => mirrorLease(mirrorDeps, key),
              onChange: (key) => fastPath.schedule(key),
              ...(options.onIngest !== undefined && { onEvent: options.onIngest }),
              ...(options.onCandidateApi !== undefined && {
                onCandidateApi: (api) => options.onCandidateApi?.(cluster, api),
              }),
              ...(options.rediscoverEveryMs !== undefined && {
                rediscoverEveryMs: options.rediscoverEveryMs,
              }),
            },
          ),
        );
      }
    };
    const { server, url } = await startHttpServer(
      [
        {
          method: 'POST',
          path: '/clusters/{cluster}/leasecandidates',
          handler: (event) => invoke('heartbeat', () => handleHeartbeat(deps, event)),
        },
        {
          method: 'GET',
          path: LEASE_PATH,
          handler: (event) => invoke('leases', () => handleGetLease(deps, event)),
        },
        {
          method: 'PUT',
          path: `${LEASE_PATH}/holder/{identity}`,
          handler: (event) => invoke('leases', () => handleHolder(deps, event)),
        },
        {
          method: 'DELETE',
          path: `${LEASE_PATH}/holder/{identity}`,
          handler: (event) => invoke('leases', () => handleHolder(deps, event)),
        },
        // Not a route of the deployed API: there, the same counters go to CloudWatch (EMF).
        {
          method: 'GET',
          path: '/metrics',
          handler: async () => {
            const { contentType, body } = await metrics.exposition();
            return { statusCode: 200, headers: { 'content-type': contentType }, body };
          },
        },
      ],
      options.httpPort ?? 0,
    );
    cleanups.push(() => closeServer(server));
    if (autonomous) {
      streams.start();
      if (registry !== undefined) {
        mirror.start();
        startIngest();
      }
      const every = options.sweepEveryMs ?? SWEEP_PERIOD_MS;
      if (every > 0) {
        // As deployed (the sweep lock, no retries): a tick while a sweep runs is dropped.
        let sweeping = false;
        const schedule = setInterval(() => {
          if (sweeping) return;
          sweeping = true;
          sweep()
            .catch(reportError)
            .finally(() => {
              sweeping = false;
            });
        }, every);
        cleanups.push(() => clearInterval(schedule));
      }
    }
    return {
      url,
      dynamodb,
      tableName: LOCAL_TABLE,
      deps,
      streams,
      timers,
      mirror,
      registry,
      metrics,
      startIngest,
      sweep,
      stop: () => runCleanups(cleanups),
    };
  } catch (error) {
    await runCleanups(cleanups);
    throw error;
  }
}

const noClusters = { get: (name: string) => Promise.reject(new Error(`no cluster "${name}" is registered`)) };

export async function runCleanups(cleanups: (() => unknown)[]): Promise<void> {
  for (const cleanup of cleanups.reverse()) await cleanup();
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
