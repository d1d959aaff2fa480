import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { TimerQueueSettings } from './stack-template.js';

export const TIMER_QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:lease-coordinator-timers';
/** SQS's own bound on DelaySeconds. */
const MAX_DELAY_SECONDS = 900;
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
 * The timer queue, locally: an HTTP endpoint speaking the SQS JSON protocol for SendMessage alone
 * (what the deployed SqsTimerQueue sends; the bundles reach it through AWS_ENDPOINT_URL_SQS).
 * Each message is held for its whole-second DelaySeconds, then handed to `requeue` as Lambda's SQS
 * poller would: five batches in flight, one more for every 200 ms that messages keep waiting, never
 * more than the mapping's maximum concurrency, each receive taking up to `batchSize` of the
 * messages visible by then (so messages that come due while every batch is busy go out together,
 * as they do on AWS, instead of each starting a container of its own); the batch's reported
 * failures (or all of it, if the invocation fails) visible again after the visibility timeout, and
 * dead-lettered after `maxReceiveCount` receives.
 */
export class SqsTimerEndpoint {
  private readonly visible: Message[] = [];
  private readonly waiting = new Set<Message>();
  private readonly running = new Set<Promise<void>>();
  private readonly cap: number;
  private concurrentBatches: number;
  private scaleUp: NodeJS.Timeout | undefined;
  private lastWaitAt = 0;
  private server: Server | undefined;
  private stopped = false;
  readonly stats = { sent: 0, batches: 0, deadLettered: 0 };
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
    if (target !== 'AmazonSQS.SendMessage') {
      reply(res, 400, {
        __type: 'com.amazonaws.sqs#UnsupportedOperation',
        message: `${target} is not served locally`,
      });
      return;
    }
    const input = parseSendMessage(Buffer.concat(chunks).toString('utf8'), this.queueUrl);
    if (typeof input === 'string') {
      reply(res, 400, { __type: 'com.amazonaws.sqs#InvalidParameterValue', message: input });
      return;
    }
    const message: Message = { id: randomUUID(), body: input.body, sentAt: Date.now(), receiveCount: 0 };
    this.stats.sent++;
    this.holdFor(message, input.delaySeconds * 1000);
    reply(res, 200, { MessageId: message.id, MD5OfMessageBody: md5(input.body) });
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
    for (const message of failed) {
      if (message.receiveCount >= this.options.settings.maxReceiveCount) {
        this.stats.deadLettered++;
        this.options.onError?.(
          new Error(`timer message ${message.id} dead-lettered after ${message.receiveCount} receives`),
        );
      } else {
        this.holdFor(message, this.options.settings.visibilityTimeoutSeconds * 1000);
      }
    }
    this.options.onBatch?.();
  }
}

/** SendMessage's input, or what is wrong with it (naming the field, as SQS does). */
function parseSendMessage(text: string, queueUrl: string): { body: string; delaySeconds: number } | string {
  let input: { QueueUrl?: unknown; MessageBody?: unknown; DelaySeconds?: unknown };
  try {
    input = JSON.parse(text) as typeof input;
  } catch {
    return 'the request body is not JSON';
  }
  if (input.QueueUrl !== queueUrl) return `QueueUrl: no queue ${String(input.QueueUrl)}`;
  if (typeof input.MessageBody !== 'string' || input.MessageBody === '') return 'MessageBody: required';
  const delaySeconds = input.DelaySeconds ?? 0;
  if (
    !Number.isInteger(delaySeconds) ||
    (delaySeconds as number) < 0 ||
    (delaySeconds as number) > MAX_DELAY_SECONDS
  ) {
    return `DelaySeconds: must be a whole number from 0 to ${MAX_DELAY_SECONDS}`;
  }
  return { body: input.MessageBody, delaySeconds: delaySeconds as number };
}

function toRecord(message: Message): SQSRecord {
  return {
    messageId: message.id,
    receiptHandle: `${message.id}#${message.receiveCount}`,
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

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
  res.end(JSON.stringify(body));
}
