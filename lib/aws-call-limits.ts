/**
 * How long one call to an AWS service (the table, the timer queue, SSM, EKS, Secrets Manager) may
 * take. They answer in milliseconds, so a call that has not answered in seconds is on a connection
 * that never will (a half-open socket, a lost packet). The SDK sets no bound of its own, so such a
 * call held a function until its own timeout (serverless.yml: 20 s), and the caller got API
 * Gateway's timeout instead of a 503 to retry. With the bound the SDK's retry sends the call again
 * on a new connection: DynamoDB's four attempts take about 12 s (SQS's and SSM's three, 9 s), inside
 * that timeout, so the function still answers. Two hung calls in a row (a cold start's SSM read,
 * then the table) do not fit, and the function times out as it did.
 *
 * The Lambda runtime provides the SDK (serverless.yml leaves it out of the bundles). A runtime SDK
 * older than `throwOnRequestTimeout` reads `requestTimeout` as a socket idle timeout, which fails
 * the call too.
 *
 * A call sent again after one that landed is answered as a failed condition, and each place where
 * that would be wrong takes it: the sweep's lock takes its own lock again (lib/store/table-lock.ts),
 * a release already recorded is answered as released (lib/http/lease-api.ts), the decision history's
 * counter skips a number, and a first heartbeat stored twice is answered 200 rather than 201. A timer
 * message sent twice is delivered twice, as SQS may anyway, and a delivery checks its timer record.
 */
export const AWS_CALL_LIMITS = {
  /** To open a connection. */
  connectionTimeout: 1_000,
  /** From the request's start to its answer's headers (DynamoDB sends its small body with them). */
  requestTimeout: 3_000,
  /** Without it, the SDK only logs a request over its timeout. */
  throwOnRequestTimeout: true,
} as const;
