import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Millis } from '../election/types.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { TimerQueue } from '../ports/schedule.js';

/**
 * SQS caps per-message delay at 15 minutes; a later deadline is reached in hops, each sent on by
 * `requeue` when it arrives (lib/coordinator/reconcile-lease.ts, `hop`).
 */
const MAX_DELAY_SECONDS = 900;

/**
 * Lease deadlines delivered by SQS message timers. Delays are whole seconds, so the delay is
 * rounded down: the message arrives up to a second before its deadline, and `requeue` waits out
 * the rest unless a renewal has overtaken the deadline (lib/handlers/timer.ts). Rounded up, every
 * deadline would be noticed up to a second late, which a failover pays in full (docs/reliability.md,
 * "Findings behind the code"); waiting costs `requeue`'s duration instead (docs/deploy.md, "What a
 * timer costs").
 */
export class SqsTimerQueue implements TimerQueue {
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
}

export interface TimerMessage {
  readonly lease: LeaseKey;
  readonly dueAt: Millis;
}

export function timerMessage(key: LeaseKey, dueAt: Millis): TimerMessage {
  return { lease: { scope: key.scope, namespace: key.namespace, name: key.name }, dueAt };
}
