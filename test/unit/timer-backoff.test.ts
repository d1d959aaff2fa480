import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MAX_RETRY_SECONDS, retryDelaySeconds } from '../../lib/handlers/timer-backoff.js';
import {
  LOCAL_MAX_DELIVERIES,
  LOCAL_MAX_RECEIVES,
  LOCAL_VISIBILITY_TIMEOUT_MS,
} from '../../lib/local/local-timer-queue.js';

/** The deployed timer queue (infra/resources.yml; CloudFormation's tags read as plain values). */
const timerQueue = (
  parse(readFileSync(new URL('../../infra/resources.yml', import.meta.url), 'utf8'), {
    logLevel: 'error',
  }) as {
    Resources: {
      TimerQueue: { Properties: { VisibilityTimeout: number; RedrivePolicy: { maxReceiveCount: number } } };
    };
  }
).Resources.TimerQueue.Properties;
const MAX_RECEIVE_COUNT = timerQueue.RedrivePolicy.maxReceiveCount;
const VISIBILITY_TIMEOUT_SECONDS = timerQueue.VisibilityTimeout;
/** requeue's event source mapping on the timer queue (serverless.yml). */
const requeueMapping = (
  parse(readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8'), { logLevel: 'error' }) as {
    functions: { requeue: { events: { sqs: { batchSize: number; maximumConcurrency: number } }[] } };
  }
).functions.requeue.events[0]?.sqs;
/** The sweep's schedule (serverless.yml: rate(1 minute)). */
const SWEEP_PERIOD_SECONDS = 60;

describe('the back-off of a failed timer message (unit: pure)', () => {
  it('starts at a second and grows with the receive count: 1, 3, 9, 27, then 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 50].map(retryDelaySeconds)).toEqual([1, 3, 9, 27, 30, 30, 30]);
  });

  it('takes a missing or malformed receive count as the first receive', () => {
    for (const count of [Number.NaN, 0, -3, 2.5]) expect(retryDelaySeconds(count)).toBe(1);
  });

  it('stays well below the visibility timeout, and spreads five receives over more than a sweep period', () => {
    const backoffs = Array.from({ length: MAX_RECEIVE_COUNT }, (_, i) => retryDelaySeconds(i + 1));
    expect(Math.max(...backoffs)).toBe(MAX_RETRY_SECONDS);
    expect(MAX_RETRY_SECONDS).toBeLessThanOrEqual(VISIBILITY_TIMEOUT_SECONDS / 4);
    // From the first failure to the dead-letter queue, run times aside.
    const toDeadLetter = backoffs.reduce((sum, b) => sum + b, 0);
    expect(toDeadLetter).toBeGreaterThan(SWEEP_PERIOD_SECONDS);
    for (let i = 1; i < backoffs.length; i++)
      expect(backoffs[i]).toBeGreaterThanOrEqual(backoffs[i - 1] as number);
  });

  it('is bounded locally as deployed: the local timer queue keeps the deployed redrive and visibility timeout', () => {
    expect(LOCAL_MAX_RECEIVES).toBe(MAX_RECEIVE_COUNT);
    expect(LOCAL_VISIBILITY_TIMEOUT_MS).toBe(VISIBILITY_TIMEOUT_SECONDS * 1000);
  });

  it("runs as many messages at once locally as requeue's deployed mapping does (batch size × maximum concurrency)", () => {
    expect(LOCAL_MAX_DELIVERIES).toBe(
      (requeueMapping?.batchSize ?? 0) * (requeueMapping?.maximumConcurrency ?? 0),
    );
  });
});
