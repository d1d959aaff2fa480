import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Millis } from '../election/types.js';
import { RedeliveryError } from '../errors.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { Clock, Redelivery, TimerQueue, TimerRedelivery } from '../ports/schedule.js';
import { timerMessage } from '../runtime/sqs-timer-queue.js';

export type TimerHandler = (event: SQSEvent) => Promise<unknown>;

/** The deployed queue's redrive and visibility timeout (infra/resources.yml, TimerQueue). */
export const LOCAL_MAX_RECEIVES = 5;
export const LOCAL_VISIBILITY_TIMEOUT_MS = 120_000;

interface Pending {
  /** Its SQS message id: the same on every receive. */
  readonly id: string;
  readonly key: LeaseKey;
  /** The deadline the message carries. */
  readonly dueAt: Millis;
  /** When it is delivered: its deadline, or when a failed delivery's back-off ends. */
  visibleAt: Millis;
  receiveCount: number;
  handle?: NodeJS.Timeout;
}

/** A delivery under way: what `redeliverAfter` finds by its receipt handle. */
interface InFlight {
  readonly entry: Pending;
  readonly receiptHandle: string;
  /** When it was received: the queue's visibility timeout counts from then, as on SQS. */
  readonly receivedAt: Millis;
  visibleAgainAt?: Millis;
}

/**
 * The SQS delay queue, locally: each timer becomes an SQS-shaped event for the `requeue`
 * handler. With `auto`, timers fire on the wall clock; tests leave it off and call
 * `fireDue(now)` with their own clock, so no test waits for real time to pass. As on AWS, a
 * message `requeue` reports failed comes back when the back-off it set ends (`redeliverAfter`),
 * or after the visibility timeout, and is dead-lettered (reported through `onError`) after
 * LOCAL_MAX_RECEIVES receives.
 */
export class LocalTimerQueue implements TimerQueue, TimerRedelivery {
  private readonly pending = new Set<Pending>();
  private readonly inFlight = new Map<string, InFlight>();
  /** Deliveries still running, so stop() can wait for them before the table goes away. */
  private readonly running = new Set<Promise<void>>();
  private sequence = 0;
  private stopped = false;
  /** Deliveries to `requeue`: what Lambda would bill (one SQS-triggered invocation each). */
  readonly invocations = { batches: 0 };
  /** Timers sent (SendMessage when deployed) and delivered, per lease name (the bench counts its own leases'). */
  readonly byLease = new Map<string, { sent: number; delivered: number }>();
  /** Messages that failed LOCAL_MAX_RECEIVES times (TimerDeadLetterQueue when deployed). */
  readonly stats = { deadLettered: 0 };

  constructor(
    private readonly handler: TimerHandler,
    private readonly auto: boolean,
    private readonly onError: (error: unknown) => void = () => {},
    private readonly clock: Clock = Date.now,
  ) {}

  async deliverAt(key: LeaseKey, dueAt: Millis, now: Millis): Promise<void> {
    this.count(key).sent += 1;
    this.hold({ id: `local-${++this.sequence}`, key, dueAt, visibleAt: dueAt, receiveCount: 0 }, now);
  }

  /** ChangeMessageVisibility: the failed delivery comes back `afterSeconds` from now. */
  async redeliverAfter(messages: readonly Redelivery[]): Promise<void> {
    const unknown: { receiptHandle: string; reason: string }[] = [];
    for (const { receiptHandle, afterSeconds } of messages) {
      const delivery = this.inFlight.get(receiptHandle);
      if (delivery === undefined) unknown.push({ receiptHandle, reason: 'not in flight' });
      else delivery.visibleAgainAt = this.clock() + afterSeconds * 1000;
    }
    if (unknown.length > 0) throw new RedeliveryError(unknown);
  }

  /**
   * Delivers every timer due at or before `now`; returns how many fired. With `auto`, a timer
   * fired this way early is not delivered again when its own time comes.
   */
  async fireDue(now: Millis): Promise<number> {
    const due = [...this.pending].filter((p) => p.visibleAt <= now);
    for (const entry of due) {
      this.pending.delete(entry);
      if (entry.handle !== undefined) clearTimeout(entry.handle);
    }
    await this.fire(due);
    return due.length;
  }

  /** The earliest pending delivery, for tests that step their clock to it. */
  nextDueAt(): Millis | undefined {
    const dues = [...this.pending].map((p) => p.visibleAt);
    return dues.length === 0 ? undefined : Math.min(...dues);
  }

  /** Fires nothing more, and resolves once the deliveries already running have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.pending) if (entry.handle !== undefined) clearTimeout(entry.handle);
    this.pending.clear();
    await Promise.all(this.running);
  }

  private hold(entry: Pending, now: Millis): void {
    if (this.stopped) return;
    this.pending.add(entry);
    if (!this.auto) return;
    entry.handle = setTimeout(
      () => {
        this.pending.delete(entry);
        const delivery = this.fire([entry]).catch(this.onError);
        this.running.add(delivery);
        void delivery.finally(() => this.running.delete(delivery));
      },
      Math.max(0, entry.visibleAt - now),
    );
  }

  private async fire(entries: readonly Pending[]): Promise<void> {
    if (entries.length === 0) return;
    this.invocations.batches += 1;
    const batch = entries.map((entry) => this.receive(entry));
    let failed: ReadonlySet<string>;
    try {
      const response = (await this.handler({ Records: batch.map(toRecord) })) as SQSBatchResponse | undefined;
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (error) {
      this.settle(batch, new Set(entries.map((entry) => entry.id)));
      throw error;
    }
    this.settle(batch, failed);
  }

  private receive(entry: Pending): InFlight {
    entry.receiveCount += 1;
    this.count(entry.key).delivered += 1;
    const delivery = { entry, receiptHandle: `${entry.id}#${entry.receiveCount}`, receivedAt: this.clock() };
    this.inFlight.set(delivery.receiptHandle, delivery);
    return delivery;
  }

  /** The batch's failed messages come back, or are dead-lettered; the rest are done. */
  private settle(batch: readonly InFlight[], failed: ReadonlySet<string>): void {
    const now = this.clock();
    for (const delivery of batch) {
      this.inFlight.delete(delivery.receiptHandle);
      const { entry } = delivery;
      if (!failed.has(entry.id)) continue;
      if (entry.receiveCount >= LOCAL_MAX_RECEIVES) {
        this.stats.deadLettered += 1;
        this.onError(
          new Error(
            `timer message ${entry.id} (${entry.key.scope}/${entry.key.namespace}/${entry.key.name}) dead-lettered after ${entry.receiveCount} receives`,
          ),
        );
        continue;
      }
      entry.visibleAt = delivery.visibleAgainAt ?? delivery.receivedAt + LOCAL_VISIBILITY_TIMEOUT_MS;
      this.hold(entry, now);
    }
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

function toRecord(delivery: InFlight): SQSEvent['Records'][number] {
  const { entry } = delivery;
  return {
    messageId: entry.id,
    receiptHandle: delivery.receiptHandle,
    body: JSON.stringify(timerMessage(entry.key, entry.dueAt)),
    attributes: {
      ApproximateReceiveCount: String(entry.receiveCount),
    } as SQSEvent['Records'][number]['attributes'],
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:local:000000000000:lease-coordinator-timers',
    awsRegion: 'local',
  };
}
