import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { APIGatewayProxyStructuredResultV2, DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { DynamoDbStore } from '../../store/dynamodb-store.js';
import { type DynamoDbLocal, startDynamoDbLocal } from '../dynamodb-local.js';
import { startHttpServer } from '../http-server.js';
import type { FunctionName } from '../invocations.js';
import { closeServer, LOCAL_TABLE, runCleanups } from '../local-coordinator.js';
import { StreamRunner } from '../stream-runner.js';
import { createTable } from '../table.js';
import { ensurePackaged, unpackBundles } from './bundles.js';
import { LambdaFunction } from './lambda-function.js';
import { everyMinute } from './schedule.js';
import { SqsTimerEndpoint } from './sqs-timer-endpoint.js';
import { serveSsmParameters } from './ssm-parameters.js';
import { readStackTemplate, type StreamMapping } from './stack-template.js';

/** The SSM parameter the packaged functions read the clusters config from (CLUSTERS_CONFIG_PARAMETER). */
export const CLUSTERS_PARAMETER = '/lease-coordinator/clusters';

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
  const runDir = mkdtempSync(join(tmpdir(), 'lease-coordinator-packaged-'));
  const cleanups: (() => unknown)[] = [() => rmSync(runDir, { recursive: true, force: true })];
  try {
    const taskRoots = await unpackBundles(packageDir, runDir);
    const dynamodb = await startDynamoDbLocal();
    cleanups.push(() => dynamodb.stop());
    const streamArn = await createTable(dynamodb.client, LOCAL_TABLE);
    const ssm =
      options.clusters === undefined
        ? undefined
        : await serveSsmParameters({ [CLUSTERS_PARAMETER]: options.clusters.yaml });
    if (ssm !== undefined) cleanups.push(() => ssm.close());

    const functions = new Map<FunctionName, LambdaFunction>();
    const invoke = (fn: FunctionName, event: unknown) => (functions.get(fn) as LambdaFunction).invoke(event);
    const timers = new SqsTimerEndpoint({
      settings: template.timerQueue,
      deliver: (event) => invoke('requeue', event),
      onError: reportError,
      ...(options.onTimer !== undefined && { onBatch: options.onTimer }),
    });
    await timers.start();
    cleanups.push(() => timers.stop());

    const environment: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      TZ: ':UTC',
      // As serverless.yml sets them, with the local stand-ins for the AWS services.
      TABLE_NAME: LOCAL_TABLE,
      TIMER_QUEUE_URL: timers.queueUrl,
      POWERTOOLS_SERVICE_NAME: 'lease-coordinator',
      POWERTOOLS_LOG_LEVEL: options.logLevel ?? 'WARN',
      // EMF lines are CloudWatch's input; here they would only fill the terminal. Shown at DEBUG.
      POWERTOOLS_METRICS_DISABLED: options.logLevel === 'DEBUG' ? 'false' : 'true',
      AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1',
      CLUSTERS_CONFIG_PARAMETER: ssm === undefined ? '' : CLUSTERS_PARAMETER,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      // This machine's Node may be older than nodejs22.x: the SDK's notice about that is noise here.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      DYNAMODB_ENDPOINT: dynamodb.endpoint,
      AWS_ENDPOINT_URL_SQS: timers.url,
      ...(ssm !== undefined && { AWS_ENDPOINT_URL_SSM: ssm.url }),
    };
    for (const [name, spec] of template.functions) {
      const taskRoot = taskRoots.get(name) as string;
      const env = {
        ...environment,
        LAMBDA_TASK_ROOT: taskRoot,
        AWS_LAMBDA_FUNCTION_NAME: `lease-coordinator-local-${name}`,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
      };
      functions.set(name, new LambdaFunction(spec, taskRoot, env, options.clusters?.configDir ?? taskRoot));
    }
    cleanups.push(() => {
      for (const fn of functions.values()) fn.stop();
    });

    const discarded: PackagedCoordinator['discarded'] = [];
    const streamsClient = new DynamoDBStreamsClient({
      endpoint: dynamodb.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    cleanups.push(() => streamsClient.destroy());
    const streamMapping = (
      consumer: 'elect' | 'mirror',
      mapping: StreamMapping,
      observe?: (r: DynamoDBRecord) => void,
    ) =>
      new StreamRunner({
        client: streamsClient,
        streamArn,
        filters: mapping.filters,
        batchSize: mapping.batchSize,
        maxRetries:
          mapping.maximumRetryAttempts < 0 ? Number.POSITIVE_INFINITY : mapping.maximumRetryAttempts,
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
    const elect = streamMapping('elect', template.streams.elect, options.observe);
    const mirror = streamMapping('mirror', template.streams.mirror);
    elect.start();
    mirror.start();
    cleanups.push(() => {
      elect.stop();
      mirror.stop();
    });

    for (const [fn, settings] of template.schedules) {
      const schedule = everyMinute({
        rule: `lease-coordinator-local-${fn}`,
        settings,
        invoke: (event) => invoke(fn, event),
        onError: reportError,
        atStart: fn === 'ingest',
      });
      cleanups.push(() => schedule.stop());
    }

    const { server, url } = await startHttpServer(
      template.routes
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
        }),
      options.httpPort ?? 0,
    );
    cleanups.push(() => closeServer(server));

    return {
      url,
      dynamodb,
      tableName: LOCAL_TABLE,
      store: new DynamoDbStore(dynamodb.client, LOCAL_TABLE),
      functions,
      timers,
      discarded,
      stop: () => runCleanups(cleanups),
    };
  } catch (error) {
    await runCleanups(cleanups);
    throw error;
  }
}
