import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import type { LeaseKey } from '../coordinator/ports.js';
import { type CoordinatorDeps, reconcileLease } from '../coordinator/reconcile-lease.js';
import { leaseKeyFromPartition } from '../store/keys.js';

/**
 * elect: one reconcile per lease touched by the batch. A record only says "look at this lease";
 * the step decides from what is stored now, so duplicates and reordering change nothing.
 * A lease that fails reports all of its records, so Lambda retries from the earliest of them.
 */
export async function handleStreamBatch(
  deps: CoordinatorDeps,
  event: DynamoDBStreamEvent,
): Promise<DynamoDBBatchResponse> {
  const byLease = new Map<string, { key: LeaseKey; sequenceNumbers: string[] }>();
  for (const record of event.Records) {
    const pk = record.dynamodb?.Keys?.pk?.S;
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    if (pk === undefined || sequenceNumber === undefined) continue;
    const entry = byLease.get(pk) ?? { key: leaseKeyFromPartition(pk), sequenceNumbers: [] };
    entry.sequenceNumbers.push(sequenceNumber);
    byLease.set(pk, entry);
  }
  const failures: string[] = [];
  await Promise.all(
    [...byLease.values()].map(async ({ key, sequenceNumbers }) => {
      try {
        await reconcileLease(deps, key);
      } catch (error) {
        deps.logger.error('reconcile failed', { lease: key, error: error as Error });
        failures.push(...sequenceNumbers);
      }
    }),
  );
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}
