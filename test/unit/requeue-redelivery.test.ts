import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { handleTimerBatch, REDELIVERY_MARGIN_MS } from '../../lib/handlers/timer.js';
import { retryDelaySeconds } from '../../lib/handlers/timer-backoff.js';
import type { RequeueDeps } from '../../lib/ports/coordinator.js';
import { ungroupedLeases } from '../../lib/ports/lease-key.js';
import type { Redelivery, TimerRedelivery } from '../../lib/ports/schedule.js';
import { timerMessage } from '../../lib/runtime/sqs-timer-queue.js';
import { InMemoryTable } from '../helpers/in-memory-store.js';

const KEY = { scope: 'east', namespace: 'kube-system', name: 'one' };

/** A timer message as Lambda hands it on, on its `receiveCount`th receive. */
function record(messageId: string, body: string, receiveCount: number): SQSRecord {
  return {
    messageId,
    receiptHandle: `receipt-of-${messageId}`,
    body,
    attributes: { ApproximateReceiveCount: String(receiveCount) } as SQSRecord['attributes'],
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:local:000000000000:timers',
    awsRegion: 'local',
  };
}

/** A queue's redelivery that records what it is asked, answering with `answer`. */
function recording(answer: () => Promise<void> = async () => {}) {
  const calls: Redelivery[][] = [];
  const redelivery: TimerRedelivery = {
    redeliverAfter: (messages) => {
      calls.push([...messages]);
      return answer();
    },
  };
  return { calls, redelivery };
}

/** requeue's deps over an in-memory table whose lease reads fail while `failing` says so. */
function depsWith(redelivery: TimerRedelivery, failing: () => boolean = () => false) {
  const table = new InMemoryTable(Date.now);
  const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
  const warnings = vi.spyOn(logger, 'warn');
  const deps: RequeueDeps = {
    store: table.store(async (request) => {
      if (request === 'loadLease' && failing()) throw new Error('ProvisionedThroughputExceededException');
    }),
    clock: Date.now,
    logger,
    leases: ungroupedLeases,
    timers: { deliverAt: async () => {} },
    redelivery,
  };
  return { deps, warnings };
}

const valid = () => JSON.stringify(timerMessage(KEY, Date.now()));

describe('requeue brings a failed timer message back after a short back-off (unit: in-memory table)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sets the back-off of each failed message by its receive count, and none on a message that succeeded', async () => {
    const { calls, redelivery } = recording();
    const { deps } = depsWith(redelivery);
    const event: SQSEvent = {
      Records: [record('poison', 'not json', 1), record('good', valid(), 1), record('again', '{}', 3)],
    };
    const response = await handleTimerBatch(deps, event);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'poison' }, { itemIdentifier: 'again' }]);
    expect(calls).toEqual([
      [
        { receiptHandle: 'receipt-of-poison', afterSeconds: retryDelaySeconds(1) },
        { receiptHandle: 'receipt-of-again', afterSeconds: retryDelaySeconds(3) },
      ],
    ]);
    for (const { afterSeconds } of calls.flat()) expect(afterSeconds).toBeLessThan(120);
  });

  it('sets a back-off on a step that failed on a transient table error, and asks nothing when every step succeeds', async () => {
    const { calls, redelivery } = recording();
    let throttled = true;
    const { deps } = depsWith(redelivery, () => throttled);
    const failed = await handleTimerBatch(deps, { Records: [record('m', valid(), 2)] });
    expect(failed.batchItemFailures).toEqual([{ itemIdentifier: 'm' }]);
    expect(calls).toEqual([[{ receiptHandle: 'receipt-of-m', afterSeconds: retryDelaySeconds(2) }]]);
    throttled = false;
    const done = await handleTimerBatch(deps, { Records: [record('m', valid(), 3)] });
    expect(done.batchItemFailures).toEqual([]);
    expect(calls).toHaveLength(1);
  });

  it.each([
    ['is refused', async () => Promise.reject(new Error('AccessDenied'))],
    [
      'throws at once',
      () => {
        throw new Error('not wired');
      },
    ],
  ])('answers the batch as it is, and says so, when setting the back-off %s', async (_how, answer) => {
    const { calls, redelivery } = recording(answer as () => Promise<void>);
    const { deps, warnings } = depsWith(redelivery);
    const response = await handleTimerBatch(deps, {
      Records: [record('bad', '[', 1), record('ok', valid(), 1)],
    });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'bad' }]);
    expect(calls).toHaveLength(1);
    expect(warnings).toHaveBeenCalledWith(
      'failed timer messages come back after the visibility timeout',
      expect.objectContaining({ receiptHandles: ['receipt-of-bad'] }),
    );
  });

  it('gives the back-off up before the invocation runs out, when SQS does not answer', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 4, 12) });
    const { redelivery } = recording(() => new Promise<void>(() => {}));
    const { deps, warnings } = depsWith(redelivery);
    const deadline = Date.now() + 5_000;
    let answeredAt: number | undefined;
    const response = handleTimerBatch(
      deps,
      { Records: [record('bad', '[', 1)] },
      undefined,
      () => deadline - Date.now(),
    ).then((r) => {
      answeredAt = Date.now();
      return r;
    });
    while (answeredAt === undefined) await vi.advanceTimersByTimeAsync(50);
    expect((await response).batchItemFailures).toEqual([{ itemIdentifier: 'bad' }]);
    expect(answeredAt).toBeLessThanOrEqual(deadline - REDELIVERY_MARGIN_MS);
    expect(warnings).toHaveBeenCalledWith(
      'failed timer messages come back after the visibility timeout',
      expect.objectContaining({ reason: 'no time left to set their back-off' }),
    );
  });
});
