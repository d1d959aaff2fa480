import type { DynamoDbLocal } from '../dynamodb-local.js';
import { LOCAL_TABLE } from '../table.js';
import type { SqsTimerEndpoint } from './sqs-timer-endpoint.js';
import type { PackagedFunction } from './stack-template.js';

/** The SSM parameter the packaged functions read the clusters config from (CLUSTERS_CONFIG_PARAMETER). */
export const CLUSTERS_PARAMETER = '/lease-coordinator/clusters';

/** The environment every function shares: as serverless.yml sets it, with the local stand-ins for AWS. */
export function functionEnvironment(stack: {
  dynamodb: DynamoDbLocal;
  timers: SqsTimerEndpoint;
  ssm: { url: string } | undefined;
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT' | undefined;
}): NodeJS.ProcessEnv {
  const { dynamodb, timers, ssm, logLevel } = stack;
  return {
    PATH: process.env.PATH,
    TZ: ':UTC',
    TABLE_NAME: LOCAL_TABLE,
    TIMER_QUEUE_URL: timers.queueUrl,
    POWERTOOLS_SERVICE_NAME: 'lease-coordinator',
    POWERTOOLS_LOG_LEVEL: logLevel ?? 'WARN',
    // EMF lines are CloudWatch's input; here they would only fill the terminal. Shown at DEBUG.
    POWERTOOLS_METRICS_DISABLED: logLevel === 'DEBUG' ? 'false' : 'true',
    AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1',
    CLUSTERS_CONFIG_PARAMETER: ssm === undefined ? '' : CLUSTERS_PARAMETER,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    // With LEASE_COORDINATOR_PACKAGED_NODE=host the containers may run an older Node than their
    // runtime's: the SDK's notice about that is noise here.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    DYNAMODB_ENDPOINT: dynamodb.endpoint,
    AWS_ENDPOINT_URL_SQS: timers.url,
    ...(ssm !== undefined && { AWS_ENDPOINT_URL_SSM: ssm.url }),
  };
}

/** One function's environment: the shared one and what Lambda sets for that function. */
export function environmentOf(
  spec: PackagedFunction,
  taskRoot: string,
  shared: NodeJS.ProcessEnv,
): NodeJS.ProcessEnv {
  return {
    ...shared,
    LAMBDA_TASK_ROOT: taskRoot,
    AWS_EXECUTION_ENV: `AWS_Lambda_${spec.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: `lease-coordinator-local-${spec.name}`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
  };
}
