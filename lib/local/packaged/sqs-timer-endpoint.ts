import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
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

interface Message {
  readonly id: string;
  readonly body: string;
  readonly sentAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** When it was last received: the visibility timeout counts from then, as on SQS. */
  receivedAt?: number;
  /** Set by ChangeMessageVisibility while in flight: when a failed receive makes it visible again. */
  visibleAgainAt?: number;
  handle?: NodeJS.Timeout;
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
 * AWS_ENDPOINT_URL_SQS).
 * Each message is held for its whole-second DelaySeconds, then handed to `requeue` as Lambda's SQS
 * poller would: five batches in flight, one more for every 200 ms that messages keep waiting, never
 * more than the mapping's maximum concurrency, each receive taking up to `batchSize` of the
 * messages visible by then (so messages that come due while every batch is busy go out together,
 * as they do on AWS, instead of each starting a container of its own); the batch's reported
 * failures (or all of it, if the invocation fails) visible again when the visibility `requeue` set
 * on them ends, or else after the visibility timeout, and dead-lettered after `maxReceiveCount`
 * receives.
 */
export class SqsTimerEndpoint {
  private readonly visible: Message[] = [];
  private readonly waiting = new Set<Message>();
  /** Messages handed to `requeue` and not yet settled, by receipt handle. */
  private readonly inFlight = new Map<string, Message>();
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
    return this.visible.length;
  }

  /** The queue URL the bundles are given as TIMER_QUEUE_URL. */
  get queueUrl(): string {
    return `${this.url}/000000000000/lease-coordinator-timers`;
  }

  /** Delivers nothing more; resolves once the batches under way have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.scaleUp);
    for (const message of this.waiting) clearTimeout(message.handle);
    this.waiting.clear();
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
    const message: Message = { id: randomUUID(), body: input.body, sentAt: Date.now(), receiveCount: 0 };
    this.stats.sent++;
    this.holdFor(message, input.delaySeconds * 1000);
    reply(res, 200, { MessageId: message.id, MD5OfMessageBody: md5(input.body) });
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
      const message = this.inFlight.get(change.receiptHandle);
      if (message === undefined) {
        const why = `${change.receiptHandle} is not the receipt handle of a message in flight`;
        failed.push({ Id: change.id, Code: 'ReceiptHandleIsInvalid', Message: why, SenderFault: true });
        continue;
      }
      message.visibleAgainAt = now + change.visibilityTimeout * 1000;
      successful.push({ Id: change.id });
    }
    this.stats.visibilityChanges += successful.length;
    reply(res, 200, { Successful: successful, Failed: failed });
  }

  private holdFor(message: Message, ms: number): void {
    if (this.stopped) return;
    this.waiting.add(message);
    message.handle = setTimeout(() => {
      this.waiting.delete(message);
      this.visible.push(message);
      // Messages that come due together go out in one batch, as the poller's receive would take them.
      setImmediate(() => this.poll());
    }, ms);
  }

  /** Each free poller receives what is visible; a poller that finishes receives again. */
  private poll(): void {
    while (!this.stopped && this.visible.length > 0 && this.running.size < this.concurrentBatches) {
      const batch = this.visible.splice(0, this.options.settings.batchSize);
      const delivery = this.deliver(batch);
      this.running.add(delivery);
      void delivery.finally(() => {
        this.running.delete(delivery);
        this.poll();
      });
    }
    if (this.stopped) return;
    if (this.visible.length > 0) this.scaleUpWhileWaiting();
    else if (Date.now() - this.lastWaitAt > LAMBDA_SQS_SCALE_DOWN_AFTER_MS)
      this.concurrentBatches = this.startingBatches();
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
      if (this.visible.length === 0) return;
      this.concurrentBatches++;
      this.poll();
    }, this.options.scaleUpEveryMs ?? LAMBDA_SQS_SCALE_UP_EVERY_MS);
  }

  private async deliver(batch: Message[]): Promise<void> {
    const now = Date.now();
    for (const message of batch) {
      message.receiveCount++;
      message.firstReceivedAt ??= now;
      message.receivedAt = now;
      this.inFlight.set(receiptHandle(message), message);
    }
    this.stats.batches++;
    let failed: Message[];
    try {
      const response = (await this.options.deliver({
        Records: batch.map(toRecord),
      })) as SQSBatchResponse | null;
      const failedIds = new Set(
        this.options.settings.reportBatchItemFailures
          ? (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier)
          : [],
      );
      failed = batch.filter((m) => failedIds.has(m.id));
    } catch (error) {
      this.options.onError?.(error);
      failed = batch;
    }
    for (const message of batch) this.inFlight.delete(receiptHandle(message));
    for (const message of failed) this.settleFailed(message);
    this.options.onBatch?.();
  }

  /** Visible when its changed visibility ends, else the timeout from its receive; or dead-lettered. */
  private settleFailed(message: Message): void {
    const visibleAgainAt = message.visibleAgainAt;
    message.visibleAgainAt = undefined;
    if (message.receiveCount >= this.options.settings.maxReceiveCount) {
      this.stats.deadLettered++;
      this.options.onError?.(
        new Error(`timer message ${message.id} dead-lettered after ${message.receiveCount} receives`),
      );
      return;
    }
    const timeoutEndsAt =
      (message.receivedAt ?? Date.now()) + this.options.settings.visibilityTimeoutSeconds * 1000;
    this.holdFor(message, Math.max(0, (visibleAgainAt ?? timeoutEndsAt) - Date.now()));
  }
}

/** A receive's handle: the message and which receive, so a handle from an earlier one is stale. */
function receiptHandle(message: Message): string {
  return `${message.id}#${message.receiveCount}`;
}

function toRecord(message: Message): SQSRecord {
  return {
    messageId: message.id,
    receiptHandle: receiptHandle(message),
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
