/**
 * Public on-demand prices, us-east-1, as found on the AWS price pages of each service (API Gateway
 * HTTP API included). Check them against those pages again before budgeting.
 */
export const PRICES = {
  writeUnit: 0.625 / 1e6,
  readUnit: 0.125 / 1e6,
  lambdaRequest: 0.2 / 1e6,
  /** arm64, per GB-second. */
  lambdaGbSecond: 0.0000133334,
  httpApiRequest: 1.0 / 1e6,
  /** SQS standard queue, per request (64 KB chunk). */
  sqsRequest: 0.4 / 1e6,
} as const;

/** SQS requests assumed per timer message (see UnitCost.queueRequests). */
export const QUEUE_REQUESTS_PER_TIMER = 3;

/** Not counted: Lambda duration is priced from these stated assumptions, since local timings are not Lambda's. */
export const ASSUMED = {
  memoryGb: 0.25,
  /** Mean billed duration of a short invocation (heartbeat, elect, mirror, requeue). */
  invocationSeconds: 0.05,
  /**
   * ingest starts one invocation a minute, each running 72 s (its 75 s timeout less the 3 s it stops
   * before), so two overlap for 12 s of every minute (docs/reliability.md, "ingest's duty cycle").
   */
  ingestSecondsPerMonth: 72 * 60 * 24 * 30,
} as const;

export interface UnitCost {
  readonly writeUnits: number;
  readonly readUnits: number;
  /** Short Lambda invocations per event (heartbeat, elect, mirror, requeue). */
  readonly invocations: number;
  /** Requests through API Gateway per event. */
  readonly httpRequests: number;
  /**
   * SQS requests per event: a timer is a delayed message, assumed 3 requests (send, the poller's
   * receive, its delete) since timers rarely share a batch. Not counted by the bench: assumed.
   */
  readonly queueRequests?: number;
}

export function dollars(cost: UnitCost): number {
  return (
    cost.writeUnits * PRICES.writeUnit +
    cost.readUnits * PRICES.readUnit +
    cost.invocations *
      (PRICES.lambdaRequest + ASSUMED.memoryGb * ASSUMED.invocationSeconds * PRICES.lambdaGbSecond) +
    cost.httpRequests * PRICES.httpApiRequest +
    (cost.queueRequests ?? 0) * PRICES.sqsRequest
  );
}

/** The fixed monthly cost of the always-on ingest watch, whatever the fleet. */
export function ingestMonthly(): number {
  return ASSUMED.ingestSecondsPerMonth * ASSUMED.memoryGb * PRICES.lambdaGbSecond;
}

/** The sweep's own invocations: one a minute, whatever the fleet (its table work is priced per lease). */
export function sweepScheduleMonthly(): number {
  return dollars({ writeUnits: 0, readUnits: 0, invocations: (30 * 24 * 3600) / 60, httpRequests: 0 });
}
