import { performance } from 'node:perf_hooks';
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
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
 * second the same DynamoDB Local, through the same SDK client, takes on this machine right now
 * with nothing else in front of it. Each write is the shape of a heartbeat's one write (an
 * UpdateItem conditional on the stored renewTime being older), into a table made from the same
 * definition (stream on, unread). `inFlight` writers each send the next as soon as one returns.
 */
export async function measureTableCeiling(
  client: DynamoDBClient,
  items: number,
  inFlight: number,
  seconds: number,
): Promise<TableCeiling> {
  await createTable(client, BASELINE_TABLE);
  const doc = DynamoDBDocumentClient.from(client);
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
}
