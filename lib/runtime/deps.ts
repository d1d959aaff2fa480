import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ungroupedLeases } from '../coordinator/ports.js';
import type { CoordinatorDeps } from '../coordinator/reconcile-lease.js';
import { ConfigError } from '../errors.js';
import { DynamoDbStore } from '../store/dynamodb-store.js';
import { loadConfig } from './config.js';
import { SqsTimerQueue } from './sqs-timer-queue.js';

export const logger = new Logger({ serviceName: 'lease-coordinator' });

let cached: CoordinatorDeps | undefined;

/**
 * The deployed wiring, built once per Lambda container (clients are reused across invocations;
 * they hold no election state, so losing them is safe).
 */
export function deployedDeps(): CoordinatorDeps {
  if (cached !== undefined) return cached;
  const config = loadConfig();
  if (config.TIMER_QUEUE_URL === undefined)
    throw new ConfigError('invalid environment: TIMER_QUEUE_URL: required');
  const dynamodb = new DynamoDBClient({
    region: config.AWS_REGION,
    ...(config.DYNAMODB_ENDPOINT !== undefined && { endpoint: config.DYNAMODB_ENDPOINT }),
  });
  cached = {
    store: new DynamoDbStore(dynamodb, config.TABLE_NAME),
    timers: new SqsTimerQueue(new SQSClient({ region: config.AWS_REGION }), config.TIMER_QUEUE_URL),
    clock: Date.now,
    logger,
    leases: ungroupedLeases,
  };
  return cached;
}
