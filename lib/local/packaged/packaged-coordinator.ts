import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyStructuredResultV2, DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { DynamoDbStore } from '../../store/dynamodb-store.js';
import { runCleanups } from '../cleanups.js';
import { type DynamoDbLocal, localStreamsClient, startDynamoDbLocal } from '../dynamodb-local.js';
import { closeServer, type Route, startHttpServer } from '../http-server.js';
import type { FunctionName } from '../invocations.js';
import { StreamRunner } from '../stream-runner.js';
import { createTable, LOCAL_TABLE } from '../table.js';
import { ensurePackaged, unpackBundles } from './bundles.js';
import { CLUSTERS_PARAMETER, environmentOf, functionEnvironment } from './function-environment.js';
import { LambdaFunction } from './lambda-function.js';
import { ensureLambdaNodes, type LambdaRuntime } from './lambda-node.js';
import { everyMinute } from './schedule.js';
import { SqsTimerEndpoint } from './sqs-timer-endpoint.js';
import { serveSsmParameters } from './ssm-parameters.js';
import { readStackTemplate, type StackTemplate, type StreamMapping } from './stack-template.js';

export interface PackagedCoordinatorOptions {
  readonly httpPort?: number;
  /** The functions' POWERTOOLS_LOG_LEVEL. */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /**
   * The clusters config as its YAML text (served as the SSM parameter) and the directory its
   * relative paths are resolved from (the functions' working directory).
   */
  readonly clusters?: { readonly yaml: string; readonly configDir: string };
  /** Sees every stream record, filtered or not (the live view; tests wait on it). */
  readonly observe?: (record: DynamoDBRecord) => void;
  /** Called after every batch handed to `requeue`. */
  readonly onTimer?: () => void;
  readonly onError?: (error: unknown) => void;
  /** Progress lines while packaging. */
  readonly log?: (line: string) => void;
}

export interface PackagedCoordinator {
  readonly url: string;
  readonly dynamodb: DynamoDbLocal;
  readonly tableName: string;
  /** A reader of the table the functions write (for the live view and tests). */
  readonly store: DynamoDbStore;
  readonly functions: ReadonlyMap<FunctionName, LambdaFunction>;
  readonly timers: SqsTimerEndpoint;
  /** Records dropped unhandled by a stream mapping (what AWS sends to the on-failure queue). */
  readonly discarded: { consumer: 'elect' | 'mirror'; reason: 'retries' | 'age'; records: number }[];
  /** Hands every stream record written so far to `elect` and `mirror` (StreamRunner.drain). */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The coordinator as `serverless deploy` ships it, on this machine: the packaged bundles (the zips
 * `serverless package` writes, unzipped, with only the AWS SDK beside them) run in Lambda-like
 * containers, driven by events in AWS's shapes with the settings of the packaged template:
 * HTTP API v2.0 requests, the table's stream after the filter criteria, the SQS timer queue with
 * whole-second delays, and the minute schedules. DynamoDB Local is the table; a local SSM
 * endpoint serves the clusters config. See docs/reliability.md for what this does not model.
 */
export async function startPackagedCoordinator(
  options: PackagedCoordinatorOptions = {},
): Promise<PackagedCoordinator> {
  const reportError = options.onError ?? (() => {});
  const packageDir = await ensurePackaged(options.log);
  const template = readStackTemplate(packageDir);
  const nodes = await ensureLambdaNodes(template.functions.values(), { log: options.log });
  const runDir = mkdtempSync(join(tmpdir(), 'lease-coordinator-packaged-'));
  const cleanups: (() => unknown)[] = [() => rmSync(runDir, { recursive: true, force: true })];
  try {
    const taskRoots = await unpackBundles(packageDir, runDir);
    const { dynamodb, streamArn, ssm } = await startServices(options.clusters, cleanups);
    const functions = new Map<FunctionName, LambdaFunction>();
    const invoke: Invoke = (fn, event) => (functions.get(fn) as LambdaFunction).invoke(event);
    const timers = new SqsTimerEndpoint({
      settings: template.timerQueue,
      deliver: (event) => invoke('requeue', event),
      onError: reportError,
      ...(options.onTimer !== undefined && { onBatch: options.onTimer }),
    });
    await timers.start();
    cleanups.push(() => timers.stop());
    const environment = functionEnvironment({ dynamodb, timers, ssm, logLevel: options.logLevel });
    const configDir = options.clusters?.configDir;
    for (const fn of createFunctions({ template, taskRoots, nodes }, environment, configDir))
      functions.set(fn.spec.name, fn);
    cleanups.push(() => {
      for (const fn of functions.values()) fn.stop();
    });
    const discarded: PackagedCoordinator['discarded'] = [];
    const wiring = {
      dynamodb,
      streamArn,
      template,
      invoke,
      discarded,
      reportError,
      observe: options.observe,
    };
    const streams = startStreamMappings(wiring);
    cleanups.push(streams.stop, startSchedules(wiring));
    const { server, url } = await startHttpServer(httpRoutes(wiring), options.httpPort ?? 0);
    cleanups.push(() => closeServer(server));

    return {
      url,
      dynamodb,
      tableName: LOCAL_TABLE,
      store: new DynamoDbStore(dynamodb.client, LOCAL_TABLE),
      functions,
      timers,
      discarded,
      drain: streams.drain,
      stop: () => runCleanups(cleanups),
    };
  } catch (error) {
    await runCleanups(cleanups);
    throw error;
  }
}

/** The AWS services the functions use, local stand-ins: the table (and its stream) and SSM. */
async function startServices(
  clusters: PackagedCoordinatorOptions['clusters'],
  cleanups: (() => unknown)[],
): Promise<{ dynamodb: DynamoDbLocal; streamArn: string; ssm: { url: string } | undefined }> {
  const dynamodb = await startDynamoDbLocal();
  cleanups.push(() => dynamodb.stop());
  const streamArn = await createTable(dynamodb.client, LOCAL_TABLE);
  if (clusters === undefined) return { dynamodb, streamArn, ssm: undefined };
  const ssm = await serveSsmParameters({ [CLUSTERS_PARAMETER]: clusters.yaml });
  cleanups.push(() => ssm.close());
  return { dynamodb, streamArn, ssm };
}

/** Invokes a packaged function with an event; rejects when the invocation fails. */
type Invoke = (fn: FunctionName, event: unknown) => Promise<unknown>;

/** What the event sources need of the stack started so far. */
interface EventSourceWiring {
  readonly dynamodb: DynamoDbLocal;
  readonly streamArn: string;
  readonly template: StackTemplate;
  readonly invoke: Invoke;
  /** Filled with what a stream mapping drops unhandled. */
  readonly discarded: PackagedCoordinator['discarded'];
  readonly reportError: (error: unknown) => void;
  readonly observe?: ((record: DynamoDBRecord) => void) | undefined;
}

/** A container for each packaged function, in its unpacked task root, on its runtime's Node, with its environment. */
function createFunctions(
  unpacked: {
    template: StackTemplate;
    taskRoots: ReadonlyMap<FunctionName, string>;
    nodes: ReadonlyMap<LambdaRuntime, string>;
  },
  environment: NodeJS.ProcessEnv,
  configDir: string | undefined,
): LambdaFunction[] {
  const { template, taskRoots, nodes } = unpacked;
  return [...template.functions.values()].map((spec) => {
    const taskRoot = taskRoots.get(spec.name) as string;
    return new LambdaFunction(
      spec,
      taskRoot,
      environmentOf(spec, taskRoot, environment),
      configDir ?? taskRoot,
      nodes.get(spec.runtime) as string,
    );
  });
}

/** Starts the table stream's two mappings, into `elect` and `mirror`. */
function startStreamMappings(wiring: EventSourceWiring): { stop: () => void; drain: () => Promise<void> } {
  const { dynamodb, streamArn, template, invoke, discarded, reportError } = wiring;
  const client = localStreamsClient(dynamodb.endpoint);
  const streamMapping = (
    consumer: 'elect' | 'mirror',
    mapping: StreamMapping,
    observe?: (r: DynamoDBRecord) => void,
  ) =>
    new StreamRunner({
      client,
      streamArn,
      filters: mapping.filters,
      batchSize: mapping.batchSize,
      maxRetries: mapping.maximumRetryAttempts < 0 ? Number.POSITIVE_INFINITY : mapping.maximumRetryAttempts,
      bisectOnError: mapping.bisectBatchOnFunctionError,
      maxRecordAgeSeconds: mapping.maximumRecordAgeInSeconds,
      handler: async (event) => {
        const response = (await invoke(consumer, event)) as DynamoDBBatchResponse | null;
        // Without ReportBatchItemFailures, a returned list means nothing: the batch succeeded.
        return mapping.reportBatchItemFailures ? (response ?? undefined) : undefined;
      },
      onDiscard: (records, reason) => discarded.push({ consumer, reason, records: records.length }),
      onError: reportError,
      ...(observe !== undefined && { observe }),
    });
  const elect = streamMapping('elect', template.streams.elect, wiring.observe);
  const mirror = streamMapping('mirror', template.streams.mirror);
  elect.start();
  mirror.start();
  const stop = () => {
    elect.stop();
    mirror.stop();
    client.destroy();
  };
  return { stop, drain: () => elect.drain().then(() => mirror.drain()) };
}

/** Starts the minute schedules (EventBridge rules), ingest's at once as well; returns their stop. */
function startSchedules(wiring: EventSourceWiring): () => void {
  const schedules = [...wiring.template.schedules].map(([fn, settings]) =>
    everyMinute({
      rule: `lease-coordinator-local-${fn}`,
      settings,
      invoke: (event) => wiring.invoke(fn, event),
      onError: wiring.reportError,
      atStart: fn === 'ingest',
    }),
  );
  return () => {
    for (const schedule of schedules) schedule.stop();
  };
}

/** The HTTP API's routes that need no SigV4 signature, each invoking its function. */
function httpRoutes(wiring: EventSourceWiring): Route[] {
  const { template, invoke, reportError } = wiring;
  return template.routes
    .filter((route) => route.authorization === 'NONE')
    .map((route) => {
      const [method, path] = route.routeKey.split(' ') as [string, string];
      return {
        method,
        path,
        // A failed invocation (an error, a timeout) is API Gateway's bare 500; its reason stays in the logs.
        handler: (event) =>
          invoke(route.function, event).then(
            (result) => result as APIGatewayProxyStructuredResultV2,
            (error: unknown) => {
              reportError(error);
              return { statusCode: 500, body: JSON.stringify({ message: 'Internal Server Error' }) };
            },
          ),
      };
    });
}
