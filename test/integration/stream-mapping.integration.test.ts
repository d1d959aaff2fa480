import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DynamoDbLocal,
  localStreamsClient,
  startDynamoDbLocal,
} from '../../lib/local/dynamodb-local.js';
import { StreamRunner, type StreamRunnerOptions } from '../../lib/local/stream-runner.js';
import { createTable } from '../../lib/local/table.js';

/**
 * The stream event source mapping settings the packaged mode takes from the template:
 * bisectBatchOnFunctionError, maximumRetryAttempts, maximumRecordAgeInSeconds and startingPosition.
 */
describe('stream mapping semantics (integration: the StreamRunner on DynamoDB Local)', () => {
  let dynamodb: DynamoDbLocal;
  let streams: DynamoDBStreamsClient;
  let table = 0;

  beforeAll(async () => {
    dynamodb = await startDynamoDbLocal();
    streams = localStreamsClient(dynamodb.endpoint);
  });
  afterAll(async () => {
    streams?.destroy();
    await dynamodb?.stop();
  });

  /** A fresh table holding items a..f (e poisoned), and a runner over its stream. */
  async function streamOf(options: Omit<StreamRunnerOptions, 'client' | 'streamArn' | 'filters'>) {
    const name = `stream-mapping-${++table}`;
    const streamArn = await createTable(dynamodb.client, name);
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) {
      await dynamodb.client.send(
        new PutItemCommand({ TableName: name, Item: { pk: { S: id }, sk: { S: 'ITEM' } } }),
      );
    }
    return new StreamRunner({ client: streams, streamArn, filters: [], ...options });
  }
  const ids = (records: readonly DynamoDBRecord[]) => records.map((r) => r.dynamodb?.Keys?.pk?.S);
  /** Throws for any batch holding item e: a poison record. */
  const poisoned = (seen: string[][]) => async (event: DynamoDBStreamEvent) => {
    seen.push(ids(event.Records) as string[]);
    if (seen.at(-1)?.includes('e')) throw new Error('poison');
    return undefined;
  };

  it('bisects a failing batch down to the poison record, delivers the rest, and drops it once its retries are spent', async () => {
    const seen: string[][] = [];
    const discarded: string[] = [];
    const runner = await streamOf({
      handler: poisoned(seen),
      batchSize: 6,
      maxRetries: 5,
      bisectOnError: true,
      onDiscard: (records, reason) => discarded.push(`${ids(records).join(',')}:${reason}`),
    });
    await runner.drain();
    // Halved: a..c succeed; d..f fail and halve again, then d,e: d succeeds; e alone fails until its
    // retries (5) are spent and is dropped; f, the rest of the bisected batch, is delivered after it.
    expect(seen).toEqual([
      ['a', 'b', 'c', 'd', 'e', 'f'],
      ['a', 'b', 'c'],
      ['d', 'e', 'f'],
      ['d', 'e'],
      ['d'],
      ...[0, 1, 2, 3, 4, 5].map(() => ['e']),
      ['f'],
    ]);
    expect(discarded).toEqual(['e:retries']);
  });

  it('without bisect, retries the whole batch and then drops it', async () => {
    const seen: string[][] = [];
    const discarded: string[] = [];
    const runner = await streamOf({
      handler: poisoned(seen),
      batchSize: 6,
      maxRetries: 2,
      onDiscard: (records, reason) => discarded.push(`${ids(records).join(',')}:${reason}`),
    });
    await runner.drain();
    expect(seen).toEqual([0, 1, 2].map(() => ['a', 'b', 'c', 'd', 'e', 'f']));
    expect(discarded).toEqual(['a,b,c,d,e,f:retries']);
  });

  it('drops records older than the maximum record age without invoking the handler', async () => {
    const seen: string[][] = [];
    const discarded: string[] = [];
    const runner = await streamOf({
      handler: poisoned(seen),
      maxRecordAgeSeconds: 0,
      onDiscard: (records, reason) => discarded.push(`${records.length}:${reason}`),
    });
    await runner.drain();
    expect(seen).toEqual([]);
    expect(discarded).toEqual(['6:age']);
  });

  it('from LATEST, delivers only what is written after its first pass, and retries a failed first batch from its first record', async () => {
    const seen: string[][] = [];
    const runner = await streamOf({
      startingPosition: 'LATEST',
      handler: async (event) => {
        seen.push(ids(event.Records) as string[]);
        if (seen.length === 1) throw new Error('first batch fails');
        return undefined;
      },
    });
    await runner.drain();
    for (const id of ['g', 'h']) {
      await dynamodb.client.send(
        new PutItemCommand({
          TableName: `stream-mapping-${table}`,
          Item: { pk: { S: id }, sk: { S: 'ITEM' } },
        }),
      );
    }
    await runner.drain();
    expect(seen).toEqual([
      ['g', 'h'],
      ['g', 'h'],
    ]);
  });
});
