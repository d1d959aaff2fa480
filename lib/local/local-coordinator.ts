import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { ClustersConfig } from '../clusters/config.js';
import type { CandidateApiVersion } from '../election/types.js';
import { handleStreamBatch } from '../handlers/elect.js';
import { handleMirrorBatch } from '../handlers/mirror.js';
import { handleSweep, type SweepResult } from '../handlers/sweep.js';
import { handleTimerBatch } from '../handlers/timer.js';
import { anyCaller } from '../http/callers.js';
import { ClusterRegistry, defaultFactory } from '../kube/registry.js';
import { PrometheusMetrics } from '../metrics/prometheus-metrics.js';
import { DEFAULT_HISTORY_RETENTION } from '../ports/history.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { Clock } from '../ports/schedule.js';
import { countConditionalFailures } from '../store/conditional-failures.js';
import { DynamoDbDecisionHistory } from '../store/decision-history.js';
import { DynamoDbStore } from '../store/dynamodb-store.js';
import { TableTimerCover } from '../store/timer-cover.js';
import { clusterSweepPass } from '../sync/cluster-sweep.js';
import type { ClusterOutcome } from '../sync/mirror.js';
import { type CoordinatorWiring, wireCoordinator } from '../wiring/coordinator.js';
import { configPolicies } from '../wiring/policies.js';
import { runCleanups } from './cleanups.js';
import { type DynamoDbLocal, localStreamsClient, reachDynamoDbLocal } from './dynamodb-local.js';
import type { FilterPattern } from './event-filter.js';
import { httpRoutes, metricsRoute } from './http-routes.js';
import { closeServer, startHttpServer } from './http-server.js';
import { invoke } from './invocations.js';
import { localIngest } from './local-ingest.js';
import { LocalTimerQueue } from './local-timer-queue.js';
import { type StreamHandler, StreamRunner } from './stream-runner.js';
import { scheduleSweeps } from './sweep-schedule.js';
import { LOCAL_TABLE, openTable } from './table.js';

const FILTERS = JSON.parse(
  readFileSync(new URL('../../infra/stream-filters.json', import.meta.url), 'utf8'),
) as {
  elect: FilterPattern[];
  mirror: FilterPattern[];
};
const SWEEP_PERIOD_MS = 60_000;

export interface LocalCoordinatorOptions {
  /**
   * A running DynamoDB Local, not stopped with this coordinator: a new one on the table a stopped one
   * left (`openTable`). Default: an emulator of its own, with a new table.
   */
  readonly dynamodb?: Pick<DynamoDbLocal, 'endpoint'>;
  /**
   * Called with the table's client before the coordinator makes its first call on it: where a bench
   * or a test adds its middleware, which a command resolves once, at its first call
   * (TABLE_CLIENT_CACHING, lib/runtime/aws-clients.ts).
   */
  readonly onTableClient?: (client: DynamoDBClient) => void;
  /** HTTP API port; 0 picks a free one. */
  readonly httpPort?: number;
  readonly clock?: Clock;
  /** Run streams, timers and the schedule on their own (npm start). Tests drive them instead. */
  readonly autonomous?: boolean;
  /** With `autonomous` (default true then): ingest keeps held leases' deadlines (docs/design.md). */
  readonly keepDeadlines?: boolean;
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
  readonly deps: CoordinatorWiring;
  readonly streams: StreamRunner;
  readonly timers: LocalTimerQueue;
  /** The second stream consumer, as on AWS: decisions and pings out to the clusters. */
  readonly mirror: StreamRunner;
  readonly registry: ClusterRegistry | undefined;
  /** What the runtime counted, served on GET /metrics in Prometheus' text format. */
  readonly metrics: PrometheusMetrics;
  /** Starts watching every registered cluster (npm start does; tests choose when). */
  startIngest(): void;
  /**
   * Starts one ingest run as the deployed schedule does (the bench plays that schedule): it stops
   * `lastsMs` on, and hands holders' renewals over to the next run `everyMs` on. Resolves once it
   * has stopped.
   */
  startIngestRun(lastsMs: number, everyMs: number): Promise<void>;
  /** Ends the running ingest as a crashed Lambda run ends (its cover left to lapse). */
  stopIngest(): Promise<void>;
  sweep(): Promise<SweepResult>;
  /**
   * Skips the scheduled sweeps until the returned function is called, as a disabled EventBridge
   * rule would (a sweep under way finishes). The bench holds them while it measures ingest
   * throughput: on DynamoDB Local a sweep's scan of 60,000 items took about a minute under that load,
   * so sweeps ran back to back and starved the 10,000-lease setup (docs/benchmark.md).
   */
  holdSweeps(): () => void;
  stop(): Promise<void>;
}

/**
 * The whole coordinator on one machine, wired as serverless.yml wires it: DynamoDB Local with the
 * deployed table definition, the HTTP API, the stream into `elect` (with the deployed filters),
 * the timer queue into `requeue`, and the sweep schedule. The coordinator's dependencies come from
 * the same builder as the deployed functions' (wireCoordinator); only the parts differ.
 */
export async function startLocalCoordinator(
  options: LocalCoordinatorOptions = {},
): Promise<LocalCoordinator> {
  const logger = new Logger({ serviceName: 'lease-coordinator', logLevel: options.logLevel ?? 'WARN' });
  const dynamodb = await reachDynamoDbLocal(options.dynamodb);
  const cleanups: (() => unknown)[] = [() => dynamodb.stop()];
  try {
    const reportError = (error: unknown) => logger.error('local runtime error', { error: error as Error });
    const metrics = new PrometheusMetrics();
    countConditionalFailures(dynamodb.client, metrics);
    options.onTableClient?.(dynamodb.client);
    const wiring = wireLocal(options, dynamodb, logger, reportError, metrics);
    cleanups.push(() => wiring.timers.stop());
    const { streams, mirror } = await startStreamConsumers(options, wiring, dynamodb, reportError, cleanups);
    const ingest = localIngest(options, wiring.deps);
    cleanups.push(() => ingest.stop());
    const sweep = () => invoke('sweep', () => handleSweep(wiring.deps, undefined, clusterPass(wiring.deps)));
    const schedule = scheduleSweeps(
      options.autonomous === true ? (options.sweepEveryMs ?? SWEEP_PERIOD_MS) : 0,
      sweep,
      reportError,
    );
    const { server, url } = await startHttpServer(
      [...httpRoutes(wiring.deps), metricsRoute(metrics)],
      options.httpPort ?? 0,
    );
    cleanups.push(() => closeServer(server));
    if (options.autonomous === true) {
      streams.start();
      if (wiring.deps.clusterWiring !== undefined) {
        mirror.start();
        ingest.start();
      }
      cleanups.push(schedule.stop);
    }
    return {
      url,
      dynamodb,
      tableName: LOCAL_TABLE,
      deps: wiring.deps,
      streams,
      timers: wiring.timers,
      mirror,
      registry: wiring.registry,
      metrics,
      startIngest: ingest.start,
      startIngestRun: ingest.startRun,
      stopIngest: ingest.stop,
      sweep,
      holdSweeps: schedule.hold,
      stop: () => runCleanups(cleanups),
    };
  } catch (error) {
    await runCleanups(cleanups);
    throw error;
  }
}

interface LocalWiring {
  readonly deps: CoordinatorWiring;
  readonly timers: LocalTimerQueue;
  readonly registry: ClusterRegistry | undefined;
}

/** The parts of the local runtime (DynamoDB Local, in-process timers, the clusters config), wired. */
function wireLocal(
  options: LocalCoordinatorOptions,
  dynamodb: DynamoDbLocal,
  logger: Logger,
  reportError: (error: unknown) => void,
  metrics: PrometheusMetrics,
): LocalWiring {
  const registry =
    options.clusters === undefined
      ? undefined
      : new ClusterRegistry(options.clusters.config, defaultFactory(options.clusters.configDir));
  // The timer queue calls `requeue` with the deps it is part of: bound once they are built.
  let deps: CoordinatorWiring | undefined;
  const timers = new LocalTimerQueue(
    (event) =>
      invoke('requeue', async () =>
        // As deployed: requeue mirrors only when clusters are registered.
        deps === undefined ? undefined : handleTimerBatch(deps, event, deps.clusterWiring),
      ).finally(() => options.onTimer?.()),
    options.autonomous ?? false,
    reportError,
    options.clock ?? Date.now,
  );
  deps = wireCoordinator({
    store: new DynamoDbStore(dynamodb.client, LOCAL_TABLE),
    history: new DynamoDbDecisionHistory(dynamodb.client, LOCAL_TABLE, DEFAULT_HISTORY_RETENTION),
    timers,
    redelivery: timers,
    clock: options.clock ?? Date.now,
    logger,
    metrics,
    // Open only without a clusters config: the HTTP server listens on 127.0.0.1 alone.
    policies: configPolicies(options.clusters?.config, anyCaller),
    ...(registry !== undefined && { clients: registry }),
    ...(options.autonomous === true &&
      options.keepDeadlines !== false && {
        timerCover: new TableTimerCover(dynamodb.client, LOCAL_TABLE, Date.now),
      }),
  });
  return { deps, timers, registry };
}

/**
 * The table (`openTable`: created, or the one a stopped coordinator left) and its two stream consumers,
 * as on AWS: `elect`, and `mirror` (decisions out to the clusters).
 */
async function startStreamConsumers(
  options: LocalCoordinatorOptions,
  { deps }: LocalWiring,
  dynamodb: DynamoDbLocal,
  reportError: (error: unknown) => void,
  cleanups: (() => unknown)[],
): Promise<{ streams: StreamRunner; mirror: StreamRunner }> {
  const stream = await openTable(dynamodb.client, LOCAL_TABLE);
  const wrap = options.wrapHandler ?? ((_consumer, handler: StreamHandler) => handler);
  const client = localStreamsClient(dynamodb.endpoint);
  cleanups.push(() => client.destroy());
  const streams = new StreamRunner({
    client,
    ...stream,
    filters: FILTERS.elect,
    handler: wrap('elect', (event) => invoke('elect', () => handleStreamBatch(deps, event))),
    onError: reportError,
    ...(options.observe !== undefined && { observe: options.observe }),
  });
  cleanups.push(() => streams.stop());
  const clusters = deps.clusterWiring;
  const mirror = new StreamRunner({
    client,
    ...stream,
    filters: FILTERS.mirror,
    handler: wrap('mirror', (event) =>
      invoke('mirror', async () =>
        clusters === undefined
          ? { batchItemFailures: [] }
          : handleMirrorBatch(clusters, event, options.onMirror, (name) => clusters.clusters.httpOnly(name)),
      ),
    ),
    onError: reportError,
  });
  cleanups.push(() => mirror.stop());
  return { streams, mirror };
}

/** The sweep's cluster pass, when clusters are registered; a fresh one per sweep. */
function clusterPass(deps: CoordinatorWiring) {
  const clusters = deps.clusterWiring;
  if (clusters === undefined) return undefined;
  return clusterSweepPass(clusters, deps.clock, (name) => clusters.clusters.httpOnly(name));
}
