import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { parseOrThrow } from '../api/issues.js';
import { type CoordinatorDeps, reconcileLease } from '../coordinator/reconcile-lease.js';
import { decideAndMirror } from '../sync/decide-now.js';
import type { MirrorDeps } from '../sync/mirror.js';

const timerMessage = z.object({
  lease: z.object({ scope: z.string().min(1), namespace: z.string().min(1), name: z.string().min(1) }),
  dueAt: z.number(),
});

/**
 * requeue: a lease deadline came due (holder expiry, ping window, candidate staleness). With
 * cluster access it also mirrors what it decided at once: a failover's new holder, or the
 * pre-pings before a silent holder's deadline, would otherwise wait for the stream to wake
 * `mirror`, which under load was seconds.
 */
export async function handleTimerBatch(
  deps: CoordinatorDeps,
  event: SQSEvent,
  mirror?: MirrorDeps,
): Promise<SQSBatchResponse> {
  const failures: string[] = [];
  for (const message of event.Records) {
    try {
      const { lease } = parseOrThrow(timerMessage, JSON.parse(message.body));
      if (mirror === undefined) await reconcileLease(deps, lease);
      else await decideAndMirror(deps, mirror, lease);
    } catch (error) {
      deps.logger.error('timer reconcile failed', { messageId: message.messageId, error: error as Error });
      failures.push(message.messageId);
    }
  }
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}
