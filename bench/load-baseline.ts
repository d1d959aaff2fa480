import { performance } from 'node:perf_hooks';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { startDynamoDbLocal } from '../lib/local/dynamodb-local.js';
import { createTable } from '../lib/local/table.js';

export interface TableCeiling {
  readonly writesPerSecond: number;
  readonly writes: number;
  readonly seconds: number;
  readonly inFlight: number;
}

const BASELINE_TABLE = 'load-baseline';

/**
 * The baseline for the load figure, run in the same command: how many conditional writes per
 * second DynamoDB Local, through the same SDK client, takes on this machine right now with
 * nothing in front of it. Each write is the shape of a heartbeat's one write (an UpdateItem
 * conditional on the stored renewTime being older), into a table made from the same definition
 * (stream on, unread). It runs in a JVM of its own, started after the load's has stopped: a
 * second stream-enabled table in one DynamoDB Local slows every write to it several-fold (measured:
 * 351 down to 98 writes/s over six tables), which would make the baseline, not the load, the
 * thing measured. `inFlight` writers each send the next as soon as one returns.
 */
export async function measureTableCeiling(
  items: number,
  inFlight: number,
  seconds: number,
): Promise<TableCeiling> {
  const local = await startDynamoDbLocal();
  try {
    await createTable(local.client, BASELINE_TABLE);
    const doc = DynamoDBDocumentClient.from(local.client);
    let writes = 0;
    let renewTime = Date.now();
    const started = performance.now();
    const until = started + seconds * 1000;
    const writer = async (first: number) => {
      for (let i = first; performance.now() < until; i += inFlight) {
        try {
          await doc.send(
            new UpdateCommand({
              TableName: BASELINE_TABLE,
              Key: { pk: `LEASE#baseline/${i % items}`, sk: 'CANDIDATE#baseline' },
              UpdateExpression: 'SET renewTime = :t, kind = :kind',
              ConditionExpression: 'attribute_not_exists(renewTime) OR renewTime < :t',
              ExpressionAttributeValues: { ':t': ++renewTime, ':kind': 'candidate' },
            }),
          );
          writes++;
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, (_, i) => writer(i)));
    const elapsed = (performance.now() - started) / 1000;
    return { writesPerSecond: writes / elapsed, writes, seconds: elapsed, inFlight };
  } finally {
    await local.stop();
  }
}
