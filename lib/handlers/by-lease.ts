import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import type { LeaseKey } from '../ports/lease-key.js';
import { leaseKeyFromPartition } from '../store/keys.js';

/**
 * Runs `work` once per lease touched by a stream batch. A record only says "look at this lease":
 * the work decides from what is stored now, so duplicates and reordering change nothing. A lease
 * whose work fails reports all of its records, so Lambda retries from the earliest of them.
 */
export async function forEachLease(
  event: DynamoDBStreamEvent,
  logger: Logger,
  what: string,
  work: (key: LeaseKey) => Promise<unknown>,
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
        await work(key);
      } catch (error) {
        logger.error(`${what} failed`, { lease: key, error: error as Error });
        failures.push(...sequenceNumbers);
      }
    }),
  );
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}
