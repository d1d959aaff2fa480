import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Millis } from '../election/types.js';
import { RedeliveryError } from '../errors.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { Clock, Redelivery, TimerQueue, TimerRedelivery } from '../ports/schedule.js';
import { timerMessage } from '../runtime/sqs-timer-queue.js';
import { LONGEST_TIMER_MS } from '../sync/abortable.js';
import { InMemorySqsQueue, type ReceivedMessage } from './in-memory-sqs-queue.js';

export type TimerHandler = (event: SQSEvent) => Promise<unknown>;

/** The deployed queue's redrive and visibility timeout (infra/resources.yml, TimerQueue). */
export const LOCAL_MAX_RECEIVES = 5;
export const LOCAL_VISIBILITY_TIMEOUT_MS = 120_000;
/**
 * The most timer messages `requeue` handles at once when deployed: its event's batchSize (10)
 * times its maximumConcurrency (2) in serverless.yml. With `auto`, no more are delivered at once
 * here either; the rest wait in the queue, visible, as they wait in SQS. Unbounded, a burst of
 * deadlines (every candidate registered in one minute comes due for its 15-minute refresh in the
 * same minute) started thousands of deliveries at once, and the table calls they queued starved
 * ingest and the streams until nothing moved (docs/reliability.md, "Findings behind the code").
 */
export const LOCAL_MAX_DELIVERIES = 10 * 2;

/** What a local timer message carries. */
interface Timer {
  readonly key: LeaseKey;
  /** The deadline the message carries, and when it is first delivered. */
  readonly dueAt: Millis;
}

type Delivery = ReceivedMessage<Timer>;

/**
 * The SQS delay queue, locally: each timer becomes an SQS-shaped event for the `requeue`
 * handler. With `auto`, timers fire on the wall clock; tests leave it off and call
 * `fireDue(now)` with their own clock, so no test waits for real time to pass. The messages live
 * in an InMemorySqsQueue with the deployed queue's visibility timeout and redrive: a message
 * `requeue` reports failed comes back when the back-off it set ends (`redeliverAfter`), or after
 * the visibility timeout from its receive, and is dead-lettered (reported through `onError`) when
 * it would come back after LOCAL_MAX_RECEIVES receives.
 */
export class LocalTimerQueue implements TimerQueue, TimerRedelivery {
  private readonly queue = new InMemorySqsQueue<Timer>({
    visibilityTimeoutMs: LOCAL_VISIBILITY_TIMEOUT_MS,
    maxReceiveCount: LOCAL_MAX_RECEIVES,
  });
  /** Deliveries still running, so stop() can wait for them before the table goes away. */
  private readonly running = new Set<Promise<void>>();
  /** With `auto`: deliveries on the wall clock still running, at most LOCAL_MAX_DELIVERIES. */
  private delivering = 0;
  /** With `auto`, the one wake-up, set for the earliest waiting message. */
  private wakeUp: { readonly at: Millis; readonly handle: NodeJS.Timeout } | undefined;
  private sequence = 0;
  private stopped = false;
  /** Deliveries to `requeue`: what Lambda would bill (one SQS-triggered invocation each). */
  readonly invocations = { batches: 0 };
  /** Timers sent (SendMessage when deployed) and delivered, per lease name (the bench counts its own leases'). */
  readonly byLease = new Map<string, { sent: number; delivered: number }>();
  /** Messages the redrive moved (TimerDeadLetterQueue when deployed). */
  readonly stats = { deadLettered: 0 };

  constructor(
    private readonly handler: TimerHandler,
    private readonly auto: boolean,
    private readonly onError: (error: unknown) => void = () => {},
    private readonly clock: Clock = Date.now,
  ) {}

  async deliverAt(key: LeaseKey, dueAt: Millis, now: Millis): Promise<void> {
    this.count(key).sent += 1;
    if (this.stopped) return;
    this.queue.send(`local-${++this.sequence}`, { key, dueAt }, dueAt, now);
    this.arm(now);
  }

  /** ChangeMessageVisibility: the failed delivery comes back `afterSeconds` from now. */
  async redeliverAfter(messages: readonly Redelivery[]): Promise<void> {
    const now = this.clock();
    const unknown = messages
      .filter(
        ({ receiptHandle, afterSeconds }) =>
          !this.queue.changeVisibility(receiptHandle, afterSeconds * 1000, now),
      )
      .map(({ receiptHandle }) => ({ receiptHandle, reason: 'not in flight' }));
    if (unknown.length > 0) throw new RedeliveryError(unknown);
  }

  /**
   * Delivers every timer due at or before `now` in one batch; returns how many it delivered.
   * With `auto`, a timer fired this way early is not delivered again when its own time comes.
   */
  async fireDue(now: Millis): Promise<number> {
    const batch = this.receive(now);
    await this.fire(batch);
    return batch.length;
  }

  /** The earliest waiting delivery, for tests that step their clock to it. */
  nextDueAt(): Millis | undefined {
    return this.queue.nextDueAt();
  }

  /** Fires nothing more, and resolves once the deliveries already running have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.wakeUp?.handle);
    this.wakeUp = undefined;
    this.queue.clear();
    await Promise.all(this.running);
  }

  /** What is due by `dueBy` (up to `max` messages), received now; the redrive's dead letters are reported. */
  private receive(dueBy: Millis, max = Number.POSITIVE_INFINITY): Delivery[] {
    const { received, deadLettered } = this.queue.receive(this.clock(), max, dueBy);
    for (const { id, body, receiveCount } of deadLettered) {
      this.stats.deadLettered += 1;
      const { scope, namespace, name } = body.key;
      this.onError(
        new Error(
          `timer message ${id} (${scope}/${namespace}/${name}) dead-lettered after ${receiveCount} receives`,
        ),
      );
    }
    this.arm(this.clock());
    return received;
  }

  /**
   * With `auto`, sets the wake-up for the earliest waiting message, unless it is set for then. Node
   * fires a timer set for longer than LONGEST_TIMER_MS at once, so a deadline further off (a Lease
   * of a 30-day leaseDurationSeconds) is waited for in steps, not delivered early again and again.
   */
  private arm(now: Millis): void {
    if (!this.auto || this.stopped) return;
    // At the cap, the next delivery starts when a running one ends (deliverDue), not on a timer.
    const next = this.delivering >= LOCAL_MAX_DELIVERIES ? undefined : this.queue.nextDueAt();
    if (next === this.wakeUp?.at) return;
    clearTimeout(this.wakeUp?.handle);
    if (next === undefined) {
      this.wakeUp = undefined;
      return;
    }
    const wait = Math.max(0, next - now);
    const step = () => {
      this.wakeUp = undefined;
      this.arm(this.clock());
    };
    this.wakeUp = {
      at: next,
      handle:
        wait > LONGEST_TIMER_MS
          ? setTimeout(step, LONGEST_TIMER_MS)
          : setTimeout(() => this.wake(next), wait),
    };
  }

  private wake(at: Millis): void {
    this.wakeUp = undefined;
    this.deliverDue(Math.max(at, this.clock()));
  }

  /**
   * Each message due by `dueBy` goes to `requeue` in a batch of its own, as its own timer, while
   * fewer than LOCAL_MAX_DELIVERIES are running; each that ends makes room for the next one due.
   */
  private deliverDue(dueBy: Millis): void {
    const room = LOCAL_MAX_DELIVERIES - this.delivering;
    if (this.stopped || room <= 0) return;
    for (const delivery of this.receive(dueBy, room)) {
      this.delivering += 1;
      const run = this.fire([delivery])
        .catch(this.onError)
        .finally(() => {
          this.delivering -= 1;
          this.deliverDue(this.clock());
        });
      this.running.add(run);
      void run.finally(() => this.running.delete(run));
    }
    this.arm(this.clock());
  }

  private async fire(batch: readonly Delivery[]): Promise<void> {
    if (batch.length === 0) return;
    this.invocations.batches += 1;
    for (const delivery of batch) this.count(delivery.body.key).delivered += 1;
    let failed: ReadonlySet<string>;
    try {
      const response = (await this.handler({ Records: batch.map(toRecord) })) as SQSBatchResponse | undefined;
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (error) {
      this.settle(batch, new Set(batch.map((delivery) => delivery.id)));
      throw error;
    }
    this.settle(batch, failed);
  }

  /** The batch's failed messages come back when their visibility ends; the rest are done. */
  private settle(batch: readonly Delivery[], failed: ReadonlySet<string>): void {
    this.queue.settle(batch, failed);
    this.arm(this.clock());
  }

  private count(key: LeaseKey): { sent: number; delivered: number } {
    let counts = this.byLease.get(key.name);
    if (counts === undefined) {
      counts = { sent: 0, delivered: 0 };
      this.byLease.set(key.name, counts);
    }
    return counts;
  }
}

function toRecord(delivery: Delivery): SQSEvent['Records'][number] {
  return {
    messageId: delivery.id,
    receiptHandle: delivery.receiptHandle,
    body: JSON.stringify(timerMessage(delivery.body.key, delivery.body.dueAt)),
    attributes: {
      ApproximateReceiveCount: String(delivery.receiveCount),
    } as SQSEvent['Records'][number]['attributes'],
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:local:000000000000:lease-coordinator-timers',
    awsRegion: 'local',
  };
}
