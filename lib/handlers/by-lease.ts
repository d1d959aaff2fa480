import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { ValidationError } from '../errors.js';
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
    let entry = byLease.get(pk);
    if (entry === undefined) {
      const key = leaseOf(pk, logger);
      if (key === undefined) continue;
      entry = { key, sequenceNumbers: [] };
      byLease.set(pk, entry);
    }
    entry.sequenceNumbers.push(sequenceNumber);
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

/**
 * The lease a record's partition key names. A record of no lease (a lock's or the timer cover's,
 * which the stream filters keep out) has no work to retry: it is passed over with a warning, as the
 * sweep's scan passes such items over, rather than failing the batch and every lease in it.
 */
function leaseOf(pk: string, logger: Logger): LeaseKey | undefined {
  try {
    return leaseKeyFromPartition(pk);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    logger.warn('ignoring a stream record of no lease', { reason: error.message });
    return undefined;
  }
}
