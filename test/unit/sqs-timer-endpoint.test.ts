import { Logger } from '@aws-lambda-powertools/logger';
import {
  ChangeMessageVisibilityBatchCommand,
  SendMessageCommand,
  SQSClient,
  type SQSServiceException,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { RedeliveryError } from '../../lib/errors.js';
import { handleTimerBatch } from '../../lib/handlers/timer.js';
import { retryDelaySeconds } from '../../lib/handlers/timer-backoff.js';
import { SqsTimerEndpoint } from '../../lib/local/packaged/sqs-timer-endpoint.js';
import type { RequeueDeps } from '../../lib/ports/coordinator.js';
import { ungroupedLeases } from '../../lib/ports/lease-key.js';
import { SqsTimerQueue } from '../../lib/runtime/sqs-timer-queue.js';
import { InMemoryTable } from '../helpers/in-memory-store.js';

const SETTINGS = {
  batchSize: 10,
  visibilityTimeoutSeconds: 0,
  maxReceiveCount: 3,
  reportBatchItemFailures: true,
};
/** The deployed queue's visibility timeout and redrive (infra/resources.yml). */
const DEPLOYED_QUEUE = { ...SETTINGS, visibilityTimeoutSeconds: 120, maxReceiveCount: 5 };

/** When the endpoint first received the batch's message (its SQS attribute), on its clock. */
function firstReceivedAt(batch: SQSEvent | undefined): number {
  return Number(batch?.Records[0]?.attributes.ApproximateFirstReceiveTimestamp);
}

describe('SqsTimerEndpoint (the timer queue of the packaged mode, spoken to by the real SQS client)', () => {
  let endpoint: SqsTimerEndpoint | undefined;
  let sqs: SQSClient | undefined;
  afterEach(async () => {
    sqs?.destroy();
    await endpoint?.stop();
  });

  /**
   * An endpoint whose `requeue` answers with `answer` (given the queue's URL, to call it back);
   * resolves each batch as it arrives, and notes when.
   */
  async function start(
    answer: (event: SQSEvent, queueUrl: string) => SQSBatchResponse | Error | Promise<SQSBatchResponse>,
    settings = SETTINGS,
  ) {
    const batches: SQSEvent[] = [];
    const arrivals: number[] = [];
    const waiters: { count: number; resolve: () => void }[] = [];
    const deadLetters: number[] = [];
    let deadLettered: () => void = () => {};
    /** Resolves once the redrive has moved a message to the dead-letter queue. */
    const deadLetter = new Promise<void>((resolve) => {
      deadLettered = resolve;
    });
    endpoint = new SqsTimerEndpoint({
      settings,
      onError: (error) => {
        if (!/dead-lettered/.test(String(error))) return;
        deadLetters.push(Date.now());
        deadLettered();
      },
      deliver: async (event) => {
        batches.push(event);
        arrivals.push(Date.now());
        const result = await answer(event, endpoint?.queueUrl ?? '');
        if (result instanceof Error) throw result;
        return result;
      },
      onBatch: () => {
        for (const waiter of waiters.filter((w) => batches.length >= w.count)) waiter.resolve();
      },
    });
    await endpoint.start();
    sqs = new SQSClient({
      endpoint: endpoint.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    /** Resolves once `count` batches in all have been handed to requeue. */
    const batchesHandled = (count: number) =>
      new Promise<void>((resolve) => waiters.push({ count, resolve }));
    return { batches, arrivals, batchesHandled, deadLetter, deadLetters, client: sqs };
  }

  const send = (body: string, delaySeconds: number, queueUrl = endpoint?.queueUrl) =>
    sqs?.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: delaySeconds }));

  it('answers SendMessage as SQS does and delivers an SQS-shaped batch to requeue once the delay is over', async () => {
    const { batches, batchesHandled } = await start(() => ({ batchItemFailures: [] }));
    const delivered = batchesHandled(1);
    const out = await send('{"lease":1}', 1);
    expect(out?.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(batches).toEqual([]);
    await delivered;
    const [record] = batches[0]?.Records ?? [];
    expect(record).toMatchObject({
      messageId: out?.MessageId,
      body: '{"lease":1}',
      eventSource: 'aws:sqs',
      attributes: { ApproximateReceiveCount: '1' },
    });
  });

  it('redelivers a message when requeue fails, or reports it failed, and dead-letters it after maxReceiveCount', async () => {
    let calls = 0;
    const { batches, deadLetter } = await start((event) =>
      ++calls === 1
        ? new Error('invocation failed')
        : { batchItemFailures: [{ itemIdentifier: event.Records[0]?.messageId ?? '' }] },
    );
    await send('a', 0);
    await deadLetter;
    const receives = batches.flatMap((b) => b.Records.map((r) => r.attributes.ApproximateReceiveCount));
    expect(receives).toEqual(['1', '2', '3']);
    expect(endpoint?.stats.deadLettered).toBe(1);
  });

  it('counts the visibility timeout from the receive, not from the end of a long run, as SQS does', async () => {
    const runMs = 1_000;
    const { arrivals, batches, batchesHandled } = await start(
      async (event) => {
        // The first run takes as long as the visibility timeout, then reports the message failed.
        if (arrivals.length === 1) await new Promise((resolve) => setTimeout(resolve, runMs));
        return { batchItemFailures: [{ itemIdentifier: event.Records[0]?.messageId ?? '' }] };
      },
      { ...SETTINGS, visibilityTimeoutSeconds: 1 },
    );
    const handled = batchesHandled(2);
    await send('a', 0);
    await handled;
    // From the first receive, as the endpoint stamps it: the handler starts a busy event loop's turn later.
    const gapMs = (arrivals[1] ?? 0) - firstReceivedAt(batches[0]);
    expect(gapMs).toBeGreaterThanOrEqual(990);
    // From the end of the run it would be 2 s.
    expect(gapMs).toBeLessThan(1_000 + runMs * 0.6);
  });

  it('dead-letters a message that failed its last receive when it would be visible again, as SQS’s redrive does on the next receive', async () => {
    const visibilityMs = 1_000;
    const { arrivals, batches, batchesHandled, deadLetter, deadLetters } = await start(
      (event) => ({ batchItemFailures: [{ itemIdentifier: event.Records[0]?.messageId ?? '' }] }),
      { ...SETTINGS, visibilityTimeoutSeconds: visibilityMs / 1000, maxReceiveCount: 1 },
    );
    const handled = batchesHandled(1);
    await send('a', 0);
    await handled;
    expect(endpoint?.stats.deadLettered).toBe(0);
    await deadLetter;
    expect(endpoint?.stats.deadLettered).toBe(1);
    expect(arrivals).toHaveLength(1);
    // Counted from the receive, as the endpoint stamps it (the handler starts a busy event loop's turn
    // later); timers may fire a millisecond early against Date.now.
    expect((deadLetters[0] ?? 0) - firstReceivedAt(batches[0])).toBeGreaterThanOrEqual(visibilityMs - 10);
  });

  it('does not redeliver what requeue handled', async () => {
    const { batches, batchesHandled } = await start(() => ({ batchItemFailures: [] }));
    const handled = batchesHandled(1);
    await send('a', 0);
    await handled;
    // A second message after the first: had the first come back, it would be in a batch before this one.
    const next = batchesHandled(2);
    await send('b', 0);
    await next;
    expect(batches.map((b) => b.Records.map((r) => r.body))).toEqual([['a'], ['b']]);
  });

  /** An endpoint whose `requeue` holds each batch until the test releases it. */
  async function startHeld(
    scaleUpEveryMs: number,
    settings: typeof SETTINGS & { maximumConcurrency?: number } = SETTINGS,
  ) {
    const release: (() => void)[] = [];
    let inFlight = 0;
    const most = { inFlight: 0 };
    const batches: string[][] = [];
    const arrived: (() => void)[] = [];
    endpoint = new SqsTimerEndpoint({
      settings,
      scaleUpEveryMs,
      deliver: async (event) => {
        batches.push(event.Records.map((r) => r.body));
        most.inFlight = Math.max(most.inFlight, ++inFlight);
        for (const wake of arrived.splice(0)) wake();
        await new Promise<void>((resolve) => release.push(resolve));
        inFlight--;
        return { batchItemFailures: [] };
      },
    });
    await endpoint.start();
    sqs = new SQSClient({
      endpoint: endpoint.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const batchCount = async (count: number) => {
      while (batches.length < count) await new Promise<void>((resolve) => arrived.push(resolve));
    };
    /** Five messages, each once the one before is in a batch: five batches, all busy. */
    const fillFiveBatches = async () => {
      for (const body of ['1', '2', '3', '4', '5']) {
        await send(body, 0);
        await batchCount(Number(body));
      }
    };
    return { release, most, batches, batchCount, fillFiveBatches };
  }

  it('starts with five batches in flight, as Lambda’s poller does; what comes due meanwhile goes out in one batch', async () => {
    // Scaling up waits longer than this test runs.
    const { release, most, batches, batchCount, fillFiveBatches } = await startHeld(3_600_000);
    await fillFiveBatches();
    // Two more while every poller is busy: they wait, and the next free poller takes both.
    await send('6', 0);
    await send('7', 0);
    // A sent message is due a turn of the event loop after SQS answered.
    while ((endpoint?.backlog ?? 0) < 2) await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toHaveLength(5);
    release.shift()?.();
    await batchCount(6);
    expect(batches[5]).toEqual(['6', '7']);
    expect(most.inFlight).toBe(5);
    for (const done of release.splice(0)) done();
  });

  it('takes one more batch in flight while messages keep waiting, as Lambda’s poller scales up', async () => {
    const { release, most, batches, batchCount, fillFiveBatches } = await startHeld(1);
    await fillFiveBatches();
    // Every batch is busy and none is released: the waiting message gets a sixth.
    await send('6', 0);
    await batchCount(6);
    expect(batches[5]).toEqual(['6']);
    expect(most.inFlight).toBe(6);
    for (const done of release.splice(0)) done();
  });

  it('never has more batches in flight than the mapping’s maximum concurrency: the rest wait in the queue and go out together', async () => {
    // Scaling up is due every millisecond: only the cap holds it.
    const { release, most, batches, batchCount } = await startHeld(1, { ...SETTINGS, maximumConcurrency: 2 });
    for (const body of ['1', '2']) {
      await send(body, 0);
      await batchCount(Number(body));
    }
    // A burst while both batches are busy: it waits, visible, for a free one.
    const burst = Array.from({ length: 14 }, (_, i) => String(i + 3));
    for (const body of burst) await send(body, 0);
    while ((endpoint?.backlog ?? 0) < burst.length && batches.length === 2)
      await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toHaveLength(2);
    // Each batch that finishes lets one more go, with up to batchSize of what waits.
    release.shift()?.();
    await batchCount(3);
    expect(batches[2]).toEqual(burst.slice(0, 10));
    release.shift()?.();
    await batchCount(4);
    expect(batches[3]).toEqual(burst.slice(10));
    expect(most.inFlight).toBe(2);
    for (const done of release.splice(0)) done();
  });

  it.each([
    [{ delay: 901 }, /DelaySeconds/],
    [
      { delay: 0, queueUrl: 'http://127.0.0.1:1/000000000000/other' } as { delay: number; queueUrl?: string },
      /QueueUrl/,
    ],
  ])('rejects SendMessage with %j, naming the field, and delivers nothing', async (input, message) => {
    const { batches } = await start(() => ({ batchItemFailures: [] }));
    await expect(send('x', input.delay, input.queueUrl ?? endpoint?.queueUrl)).rejects.toThrow(message);
    expect(endpoint?.stats.sent).toBe(0);
    expect(batches).toEqual([]);
  });

  it('brings a message requeue failed back when its back-off ends, not after the visibility timeout (requeue and SqsTimerQueue as deployed)', async () => {
    const deps: RequeueDeps = {
      store: new InMemoryTable(Date.now).store(),
      clock: Date.now,
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
      leases: ungroupedLeases,
      timers: { deliverAt: async () => {} },
    };
    let queue: SqsTimerQueue | undefined;
    const { batches, arrivals, batchesHandled, client } = await start(
      (event) => handleTimerBatch({ ...deps, ...(queue !== undefined && { redelivery: queue }) }, event),
      DEPLOYED_QUEUE,
    );
    queue = new SqsTimerQueue(client, endpoint?.queueUrl ?? '');
    const handled = batchesHandled(2);
    // A body requeue cannot read: its step fails on every receive.
    await send('not a timer', 0);
    await handled;
    expect(batches[1]?.Records.map((r) => r.attributes.ApproximateReceiveCount)).toEqual(['2']);
    const gapMs = (arrivals[1] ?? 0) - (arrivals[0] ?? 0);
    expect(gapMs).toBeGreaterThanOrEqual(retryDelaySeconds(1) * 1000);
    expect(gapMs).toBeLessThan(retryDelaySeconds(2) * 1000);
    expect(endpoint?.stats.visibilityChanges).toBe(2);
  });

  /**
   * Sends one message and, while requeue has it, makes `call` with the SQS client, the queue's URL
   * and the message's receipt handle; resolves with what `call` threw, if anything. The message is
   * received once: in flight, it is not visible to another receive, even at a visibility timeout of 0.
   */
  async function callWhileInFlight(
    call: (client: SQSClient, queueUrl: string, handle: string) => Promise<unknown>,
  ) {
    const outcomes: { error?: unknown }[] = [];
    const { batches, batchesHandled, client } = await start(async (event, queueUrl) => {
      const outcome: { error?: unknown } = {};
      outcomes.push(outcome);
      await call(client, queueUrl, event.Records[0]?.receiptHandle ?? '').catch((error: unknown) => {
        outcome.error = error;
      });
      return { batchItemFailures: [] };
    });
    const handled = batchesHandled(1);
    await send('a', 0);
    await handled;
    expect(batches.flatMap((b) => b.Records.map((r) => r.body))).toEqual(['a']);
    expect(outcomes).toHaveLength(1);
    return outcomes[0]?.error;
  }

  it('fails an entry whose receipt handle is not in flight on its own, as SQS does, and changes the others', async () => {
    const error = await callWhileInFlight((client, queueUrl, handle) =>
      new SqsTimerQueue(client, queueUrl).redeliverAfter([
        { receiptHandle: handle, afterSeconds: 0 },
        { receiptHandle: 'stale#1', afterSeconds: 0 },
      ]),
    );
    expect(error).toBeInstanceOf(RedeliveryError);
    expect((error as RedeliveryError).failed).toEqual([
      { receiptHandle: 'stale#1', reason: expect.stringMatching(/^ReceiptHandleIsInvalid: /) },
    ]);
    expect(endpoint?.stats.visibilityChanges).toBe(1);
  });

  const entry = (Id: string, ReceiptHandle: string, VisibilityTimeout: number) => ({
    Id,
    ReceiptHandle,
    VisibilityTimeout,
  });

  it.each([
    ['no entries', () => [], undefined, /Entries: at least one/],
    [
      'eleven entries',
      (h: string) => Array.from({ length: 11 }, (_, i) => entry(`e${i}`, h, 1)),
      undefined,
      /Entries: at most 10/,
    ],
    [
      'a timeout past 12 hours',
      (h: string) => [entry('a', h, 0), entry('b', h, 43_201)],
      undefined,
      /Entries\[1\]\.VisibilityTimeout/,
    ],
    [
      'a fractional timeout',
      (h: string) => [entry('a', h, 1.5)],
      undefined,
      /Entries\[0\]\.VisibilityTimeout/,
    ],
    ['an Id SQS refuses', (h: string) => [entry('a b', h, 1)], undefined, /Entries\[0\]\.Id/],
    [
      'Ids not distinct',
      (h: string) => [entry('a', h, 1), entry('a', h, 2)],
      undefined,
      /Entries\[1\]\.Id: a is not distinct/,
    ],
    ['an empty receipt handle', () => [entry('a', '', 1)], undefined, /Entries\[0\]\.ReceiptHandle/],
    ['another queue', (h: string) => [entry('a', h, 1)], 'http://127.0.0.1:1/000000000000/other', /QueueUrl/],
  ])(
    'rejects a request with %s, naming the field, and changes no message',
    async (_what, entries, otherQueue, message) => {
      const error = await callWhileInFlight((client, queueUrl, handle) =>
        client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: otherQueue ?? queueUrl,
            Entries: entries(handle),
          }),
        ),
      );
      // SQS's answer to the request, not a failure to reach the endpoint (the metadata says how many attempts).
      const { name, message: text, $metadata } = (error ?? {}) as Partial<SQSServiceException>;
      expect({ name, text }, JSON.stringify($metadata)).toEqual({
        name: 'InvalidParameterValue',
        text: expect.stringMatching(message),
      });
      expect(endpoint?.stats.visibilityChanges).toBe(0);
    },
  );
});
