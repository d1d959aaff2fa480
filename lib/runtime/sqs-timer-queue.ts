import { ChangeMessageVisibilityBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Millis } from '../election/types.js';
import { RedeliveryError } from '../errors.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { Redelivery, TimerQueue, TimerRedelivery } from '../ports/schedule.js';

/**
 * SQS caps per-message delay at 15 minutes; a later deadline is reached in hops, each sent on by
 * `requeue` when it arrives (lib/coordinator/reconcile-lease.ts, `hop`).
 */
const MAX_DELAY_SECONDS = 900;
/** SQS's bound on the entries of one batch request. */
const MAX_BATCH_ENTRIES = 10;

/**
 * Lease deadlines delivered by SQS message timers. Delays are whole seconds, so the delay is
 * rounded down: the message arrives up to a second before its deadline, and `requeue` waits out
 * the rest unless a renewal has overtaken the deadline (lib/handlers/timer.ts). Rounded up, every
 * deadline would be noticed up to a second late, which a failover pays in full (docs/reliability.md,
 * "Findings behind the code"); waiting costs `requeue`'s duration instead (docs/deploy.md, "What a
 * timer costs").
 *
 * A failed message is brought back by ChangeMessageVisibilityBatch on its receipt handle before
 * `requeue` answers, rather than by a fresh delayed copy: the message keeps its receive count, so
 * the queue's redrive (maxReceiveCount 5, then TimerDeadLetterQueue and its alarm) still bounds a
 * poison message, and nothing is sent that could be lost or doubled; the copy would need a send
 * that succeeds before the original is let go, and a count of its own in the body.
 */
export class SqsTimerQueue implements TimerQueue, TimerRedelivery {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async deliverAt(key: LeaseKey, dueAt: Millis, now: Millis): Promise<void> {
    const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.floor((dueAt - now) / 1000)));
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        DelaySeconds: delaySeconds,
        MessageBody: JSON.stringify(timerMessage(key, dueAt)),
      }),
    );
  }

  /** One request per ten messages (a `requeue` batch is ten at most); each entry fails on its own. */
  async redeliverAfter(messages: readonly Redelivery[]): Promise<void> {
    const chunks: Redelivery[][] = [];
    for (let i = 0; i < messages.length; i += MAX_BATCH_ENTRIES)
      chunks.push(messages.slice(i, i + MAX_BATCH_ENTRIES));
    const failed = (await Promise.all(chunks.map((chunk) => this.changeVisibility(chunk)))).flat();
    if (failed.length > 0) throw new RedeliveryError(failed);
  }

  private async changeVisibility(chunk: readonly Redelivery[]) {
    const out = await this.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: this.queueUrl,
        Entries: chunk.map((m, i) => ({
          Id: String(i),
          ReceiptHandle: m.receiptHandle,
          VisibilityTimeout: m.afterSeconds,
        })),
      }),
    );
    return (out.Failed ?? []).map((f) => ({
      receiptHandle: chunk[Number(f.Id)]?.receiptHandle ?? `entry ${f.Id}`,
      reason: `${f.Code}: ${f.Message ?? ''}`,
    }));
  }
}

export interface TimerMessage {
  readonly lease: LeaseKey;
  readonly dueAt: Millis;
}

export function timerMessage(key: LeaseKey, dueAt: Millis): TimerMessage {
  return { lease: { scope: key.scope, namespace: key.namespace, name: key.name }, dueAt };
}
