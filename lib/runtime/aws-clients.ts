import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

/**
 * How long one call to an AWS service (the table, the timer queue, the clusters parameter) may
 * take. They answer in milliseconds, so a call that has not answered in seconds is on a connection
 * that never will (a half-open socket, a lost packet). Without a bound the SDK waits out its
 * 5-minute socket default, and a function waits out its own timeout (serverless.yml: 20 s) holding
 * the work. With it the SDK's retry (DynamoDB's default: 4 attempts) sends the call again on a new
 * connection, and all four fit inside that timeout: a hung connection costs a few seconds, and a
 * call that cannot be made fails while the function can still say so (the HTTP API answers 503, a
 * timer message goes back to its queue).
 *
 * A call sent again after a timeout is safe. Every table write is conditional (one that did land
 * comes back as a failed condition, which the store reads as a lost race) or idempotent, but for
 * the decision history's counter, where a repeat skips a record number. A timer message sent twice
 * is delivered twice, as SQS may anyway, and a delivery checks its timer record.
 */
export const AWS_CALL_LIMITS = {
  /** To open a connection. */
  connectionTimeout: 1_000,
  /** From the request's start to its whole answer. */
  requestTimeout: 3_000,
  /** Without it, the SDK only logs a request over its timeout. */
  throwOnRequestTimeout: true,
} as const;

/** The client the functions (deployed and packaged) and the CLI reach the table with. */
export function tableClient(config: Omit<DynamoDBClientConfig, 'requestHandler'>): DynamoDBClient {
  return new DynamoDBClient({ ...config, requestHandler: { ...AWS_CALL_LIMITS } });
}
