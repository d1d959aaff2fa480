import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { AWS_CALL_LIMITS } from '../aws-call-limits.js';

/**
 * The client the functions (deployed and packaged) and the CLI reach the table with, its calls
 * bounded, each command's middleware resolved once (TABLE_CLIENT_CACHING).
 */
export function tableClient(config: Omit<DynamoDBClientConfig, 'requestHandler'>): DynamoDBClient {
  return new DynamoDBClient({ ...config, ...TABLE_CLIENT_CACHING, requestHandler: { ...AWS_CALL_LIMITS } });
}

/**
 * The SDK resolves each command's middleware stack at that command's first call on a client and
 * reuses it, instead of once per call (docs/benchmark-history.md, "The SDK's cost per table call").
 * A middleware added to the client after a command's first call is not seen by that command, so
 * whoever adds one adds it before the client's first call; a `send` with options resolves afresh
 * and empties the cache, and nothing here sends with options. The Lambda runtime provides the SDK
 * (serverless.yml leaves it out of the bundles): one older than `cacheMiddleware` (v3.649.0) ignores
 * the option and resolves per call, as before it.
 */
export const TABLE_CLIENT_CACHING = { cacheMiddleware: true } as const;
