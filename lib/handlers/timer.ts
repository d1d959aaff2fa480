import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { parseOrThrow } from '../api/issues.js';
import { type CoordinatorDeps, reconcileLease } from '../coordinator/reconcile-lease.js';

const timerMessage = z.object({
  lease: z.object({ scope: z.string().min(1), namespace: z.string().min(1), name: z.string().min(1) }),
  dueAt: z.number(),
});

/** requeue: a lease deadline came due (holder expiry, ping window, candidate staleness). */
export async function handleTimerBatch(deps: CoordinatorDeps, event: SQSEvent): Promise<SQSBatchResponse> {
  const failures: string[] = [];
  for (const message of event.Records) {
    try {
      const { lease } = parseOrThrow(timerMessage, JSON.parse(message.body));
      await reconcileLease(deps, lease);
    } catch (error) {
      deps.logger.error('timer reconcile failed', { messageId: message.messageId, error: error as Error });
      failures.push(message.messageId);
    }
  }
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}
