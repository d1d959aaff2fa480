import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { InMemorySqsQueue, type ReceivedMessage } from '../in-memory-sqs-queue.js';
import { invalid, parseChangeVisibilityBatch, parseSendMessage, reply } from './sqs-protocol.js';
import type { TimerQueueSettings } from './stack-template.js';

export const TIMER_QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:lease-coordinator-timers';
/**
 * Lambda's SQS poller (AWS Lambda Developer Guide, "Configuring scaling behavior for SQS event
 * source mappings"): "When messages are available, Lambda starts processing five batches at a time
 * with five concurrent invocations of your function. If messages are still available, Lambda
 * increases the number of processes that are reading batches by up to 300 more instances per
 * minute", up to 1,000 batches at once; "when traffic is low, Lambda scales back the processing to
 * five concurrent batches".
 */
export const LAMBDA_SQS_CONCURRENT_BATCHES = 5;
const LAMBDA_SQS_MAX_CONCURRENT_BATCHES = 1_000;
/** 300 more a minute: one more every 200 ms while messages wait. */
export const LAMBDA_SQS_SCALE_UP_EVERY_MS = 60_000 / 300;
/** How long nothing must wait before the poller is back at five (the guide gives no figure). */
const LAMBDA_SQS_SCALE_DOWN_AFTER_MS = 60_000;

/**
 * The mapping's maximum concurrency (ScalingConfig.MaximumConcurrency): Lambda never has more of
 * its invocations running at once, and reads no more messages until one finishes, so the rest wait
 * in the queue, visible ("Configuring maximum concurrency for Amazon SQS event sources", the same
 * guide). Without one, the poller's own bound.
 */
function concurrencyCap(settings: TimerQueueSettings): number {
  return settings.maximumConcurrency ?? LAMBDA_SQS_MAX_CONCURRENT_BATCHES;
}

export interface SqsTimerEndpointOptions {
  readonly settings: TimerQueueSettings;
  /** Invokes `requeue` with an SQS batch; rejects when the invocation fails. */
  readonly deliver: (event: SQSEvent) => Promise<unknown>;
  readonly onError?: (error: unknown) => void;
  /** Called after each batch handed to `requeue`, delivered or not. */
  readonly onBatch?: () => void;
  /** One more batch in flight after messages waited this long (LAMBDA_SQS_SCALE_UP_EVERY_MS by default). */
  readonly scaleUpEveryMs?: number;
}

/**
 * The timer queue, locally: an HTTP endpoint speaking the SQS JSON protocol for SendMessage and
 * ChangeMessageVisibilityBatch (what the deployed SqsTimerQueue calls; the bundles reach it through
 * AWS_ENDPOINT_URL_SQS), over an InMemorySqsQueue with the template's visibility timeout and redrive.
 * Each message is held for its whole-second DelaySeconds, then handed to `requeue` as Lambda's SQS
 * poller would: five batches in flight, one more for every 200 ms that messages keep waiting, never
 * more than the mapping's maximum concurrency, each receive taking up to `batchSize` of the
 * messages visible by then (so messages that come due while every batch is busy go out together,
 * as they do on AWS, instead of each starting a container of its own); the batch's reported
 * failures (or all of it, if the invocation fails) visible again when the visibility `requeue` set
 * on them ends, or else after the visibility timeout from the receive; one received
 * `maxReceiveCount` times is dead-lettered by the receive that finds it visible again, as on SQS.
 */
export class SqsTimerEndpoint {
  private readonly queue: InMemorySqsQueue<string>;
  /** The poll for the earliest message not yet visible. */
  private wakeUp: NodeJS.Timeout | undefined;
  private readonly running = new Set<Promise<void>>();
  private readonly cap: number;
  private concurrentBatches: number;
  private scaleUp: NodeJS.Timeout | undefined;
  private lastWaitAt = 0;
  private server: Server | undefined;
  private stopped = false;
  readonly stats = { sent: 0, batches: 0, deadLettered: 0, visibilityChanges: 0 };
  url = '';

  constructor(private readonly options: SqsTimerEndpointOptions) {
    this.cap = concurrencyCap(options.settings);
    this.concurrentBatches = this.startingBatches();
    this.queue = new InMemorySqsQueue({
      visibilityTimeoutMs: options.settings.visibilityTimeoutSeconds * 1000,
      maxReceiveCount: options.settings.maxReceiveCount,
    });
  }

  /** Five, as Lambda's poller starts, or fewer under a maximum concurrency. */
  private startingBatches(): number {
    return Math.min(LAMBDA_SQS_CONCURRENT_BATCHES, this.cap);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) =>
        reply(res, 500, { __type: 'InternalError', message: String(error) }),
      );
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    return this.url;
  }

  /** Messages due and waiting for a free batch (what CloudWatch shows as ApproximateNumberOfMessagesVisible). */
  get backlog(): number {
    return this.queue.visibleCount(Date.now());
  }

  /** The queue URL the bundles are given as TIMER_QUEUE_URL. */
  get queueUrl(): string {
    return `${this.url}/000000000000/lease-coordinator-timers`;
  }

  /** Delivers nothing more; resolves once the batches under way have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.scaleUp);
    clearTimeout(this.wakeUp);
    this.queue.clear();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server === undefined ? resolve() : this.server.close(() => resolve()),
    );
    await Promise.all(this.running);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const target = String(req.headers['x-amz-target'] ?? '');
    const text = Buffer.concat(chunks).toString('utf8');
    if (target === 'AmazonSQS.SendMessage') this.sendMessage(text, res);
    else if (target === 'AmazonSQS.ChangeMessageVisibilityBatch') this.changeVisibility(text, res);
    else
      reply(res, 400, {
        __type: 'com.amazonaws.sqs#UnsupportedOperation',
        message: `${target} is not served locally`,
      });
  }

  private sendMessage(text: string, res: ServerResponse): void {
    const input = parseSendMessage(text, this.queueUrl);
    if (typeof input === 'string') {
      invalid(res, input);
      return;
    }
    const id = randomUUID();
    const now = Date.now();
    this.queue.send(id, input.body, now + input.delaySeconds * 1000, now);
    this.stats.sent++;
    // Polled once SQS has answered: messages sent together go out together, as a receive takes them.
    setImmediate(() => this.poll());
    reply(res, 200, { MessageId: id, MD5OfMessageBody: md5(input.body) });
  }

  /**
   * Each entry's message, if still in flight under that receipt handle, becomes visible again that
   * many seconds from now once `requeue` reports it failed; an entry whose handle is not (a message
   * settled, or received again since) fails on its own, as on SQS.
   */
  private changeVisibility(text: string, res: ServerResponse): void {
    const changes = parseChangeVisibilityBatch(text, this.queueUrl);
    if (typeof changes === 'string') {
      invalid(res, changes);
      return;
    }
    const now = Date.now();
    const successful: { Id: string }[] = [];
    const failed: { Id: string; Code: string; Message: string; SenderFault: boolean }[] = [];
    for (const change of changes) {
      if (!this.queue.changeVisibility(change.receiptHandle, change.visibilityTimeout * 1000, now)) {
        const why = `${change.receiptHandle} is not the receipt handle of a message in flight`;
        failed.push({ Id: change.id, Code: 'ReceiptHandleIsInvalid', Message: why, SenderFault: true });
        continue;
      }
      successful.push({ Id: change.id });
    }
    this.stats.visibilityChanges += successful.length;
    reply(res, 200, { Successful: successful, Failed: failed });
  }

  /** Each free poller receives what is visible; a poller that finishes receives again. */
  private poll(): void {
    if (this.stopped) return;
    const now = Date.now();
    while (this.running.size < this.concurrentBatches) {
      const batch = this.receive(now);
      if (batch.length === 0) break;
      const delivery = this.deliver(batch);
      this.running.add(delivery);
      void delivery.finally(() => {
        this.running.delete(delivery);
        this.poll();
      });
    }
    if (this.queue.visibleCount(now) > 0) this.scaleUpWhileWaiting();
    else if (now - this.lastWaitAt > LAMBDA_SQS_SCALE_DOWN_AFTER_MS)
      this.concurrentBatches = this.startingBatches();
    this.wakeUpWhenDue(now);
  }

  /** A receive of up to a batch; what the redrive moves instead is dead-lettered. */
  private receive(now: number): ReceivedMessage<string>[] {
    const { received, deadLettered } = this.queue.receive(now, this.options.settings.batchSize);
    for (const { id, receiveCount } of deadLettered) {
      this.stats.deadLettered++;
      this.options.onError?.(new Error(`timer message ${id} dead-lettered after ${receiveCount} receives`));
    }
    return received;
  }

  /** Polls again when the earliest message not visible at `now` comes due (what waits now is polled as batches free up). */
  private wakeUpWhenDue(now: number): void {
    clearTimeout(this.wakeUp);
    const next = this.queue.nextDueAt(now);
    this.wakeUp = next === undefined ? undefined : setTimeout(() => this.poll(), next - now);
  }

  /**
   * Messages wait for a free batch: one more batch in flight after a while, as the poller scales
   * up, up to the maximum concurrency; at the cap they wait for a batch to finish.
   */
  private scaleUpWhileWaiting(): void {
    this.lastWaitAt = Date.now();
    if (this.scaleUp !== undefined || this.concurrentBatches >= this.cap) return;
    this.scaleUp = setTimeout(() => {
      this.scaleUp = undefined;
      if (this.queue.visibleCount(Date.now()) === 0) return;
      this.concurrentBatches++;
      this.poll();
    }, this.options.scaleUpEveryMs ?? LAMBDA_SQS_SCALE_UP_EVERY_MS);
  }

  /** Hands the batch to `requeue`: what it handled is deleted; what failed is visible again when its visibility ends. */
  private async deliver(batch: readonly ReceivedMessage<string>[]): Promise<void> {
    this.stats.batches++;
    let failed: ReadonlySet<string>;
    try {
      const response = (await this.options.deliver({
        Records: batch.map(toRecord),
      })) as SQSBatchResponse | null;
      failed = new Set(
        this.options.settings.reportBatchItemFailures
          ? (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier)
          : [],
      );
    } catch (error) {
      this.options.onError?.(error);
      failed = new Set(batch.map((m) => m.id));
    }
    this.queue.settle(batch, failed);
    this.options.onBatch?.();
  }
}

function toRecord(message: ReceivedMessage<string>): SQSRecord {
  return {
    messageId: message.id,
    receiptHandle: message.receiptHandle,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentAt),
      SenderId: 'AROALOCAL:lease-coordinator',
      ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
    },
    messageAttributes: {},
    md5OfBody: md5(message.body),
    eventSource: 'aws:sqs',
    eventSourceARN: TIMER_QUEUE_ARN,
    awsRegion: 'us-east-1',
  };
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}
