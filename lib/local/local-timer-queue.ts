import type { SQSEvent } from 'aws-lambda';
import type { Millis } from '../election/types.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { TimerQueue } from '../ports/schedule.js';
import { timerMessage } from '../runtime/sqs-timer-queue.js';

export type TimerHandler = (event: SQSEvent) => Promise<unknown>;

interface Pending {
  readonly key: LeaseKey;
  readonly dueAt: Millis;
  handle?: NodeJS.Timeout;
}

/**
 * The SQS delay queue, locally: each timer becomes an SQS-shaped event for the `requeue`
 * handler. With `auto`, timers fire on the wall clock; tests leave it off and call
 * `fireDue(now)` with their own clock, so no test waits for real time to pass.
 */
export class LocalTimerQueue implements TimerQueue {
  private readonly pending = new Set<Pending>();
  /** Deliveries still running, so stop() can wait for them before the table goes away. */
  private readonly running = new Set<Promise<void>>();
  private sequence = 0;
  /** Deliveries to `requeue`: what Lambda would bill (one SQS-triggered invocation each). */
  readonly invocations = { batches: 0 };
  /** Timers sent (SendMessage when deployed) and delivered, per lease name (the bench counts its own leases'). */
  readonly byLease = new Map<string, { sent: number; delivered: number }>();

  constructor(
    private readonly handler: TimerHandler,
    private readonly auto: boolean,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  async deliverAt(key: LeaseKey, dueAt: Millis, now: Millis): Promise<void> {
    const entry: Pending = { key, dueAt };
    this.count(key).sent += 1;
    this.pending.add(entry);
    if (this.auto) {
      entry.handle = setTimeout(
        () => {
          this.pending.delete(entry);
          const delivery = this.fire([entry]).catch(this.onError);
          this.running.add(delivery);
          void delivery.finally(() => this.running.delete(delivery));
        },
        Math.max(0, dueAt - now),
      );
    }
  }

  /**
   * Delivers every timer due at or before `now`; returns how many fired. With `auto`, a timer
   * fired this way early is not delivered again when its own time comes.
   */
  async fireDue(now: Millis): Promise<number> {
    const due = [...this.pending].filter((p) => p.dueAt <= now);
    for (const entry of due) {
      this.pending.delete(entry);
      if (entry.handle !== undefined) clearTimeout(entry.handle);
    }
    await this.fire(due);
    return due.length;
  }

  /** The earliest pending deadline, for tests that step their clock to it. */
  nextDueAt(): Millis | undefined {
    const dues = [...this.pending].map((p) => p.dueAt);
    return dues.length === 0 ? undefined : Math.min(...dues);
  }

  /** Fires nothing more, and resolves once the deliveries already running have finished. */
  async stop(): Promise<void> {
    for (const entry of this.pending) if (entry.handle !== undefined) clearTimeout(entry.handle);
    this.pending.clear();
    await Promise.all(this.running);
  }

  private async fire(entries: readonly Pending[]): Promise<void> {
    if (entries.length === 0) return;
    this.invocations.batches += 1;
    for (const entry of entries) this.count(entry.key).delivered += 1;
    await this.handler({
      Records: entries.map((entry) => ({
        messageId: `local-${++this.sequence}`,
        receiptHandle: `local-${this.sequence}`,
        body: JSON.stringify(timerMessage(entry.key, entry.dueAt)),
        attributes: {} as SQSEvent['Records'][number]['attributes'],
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:local:000000000000:lease-coordinator-timers',
        awsRegion: 'local',
      })),
    });
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
