import {
  type DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type DynamoDBStreamsClient, ListStreamsCommand } from '@aws-sdk/client-dynamodb-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DynamoDbLocal,
  localClient,
  localStreamsClient,
  startDynamoDbLocal,
} from '../../lib/local/dynamodb-local.js';
import { EMULATOR_AUTHORIZATION } from '../../lib/local/emulator-auth.js';
import { createTable } from '../../lib/local/table.js';

/** The Authorization header of every request the client sends, as it goes on the wire. */
function sentAuthorization(client: DynamoDBClient | DynamoDBStreamsClient): string[] {
  const seen: string[] = [];
  // Both clients' stacks take the same middleware; the cast picks one of their generic types.
  (client as DynamoDBClient).middlewareStack.add(
    (next) => async (args) => {
      seen.push((args.request as { headers: Record<string, string> }).headers.authorization ?? '(none)');
      return next(args);
    },
    { step: 'deserialize', name: 'sentAuthorization' },
  );
  return seen;
}

describe('the sources runtime’s clients of DynamoDB Local (integration)', () => {
  let dynamodb: DynamoDbLocal;

  beforeAll(async () => {
    dynamodb = await startDynamoDbLocal();
  });
  afterAll(async () => {
    await dynamodb?.stop();
  });

  it('send the access key unsigned, and the emulator answers tables and streams alike', async () => {
    const client = localClient(dynamodb.endpoint);
    const streams = localStreamsClient(dynamodb.endpoint);
    const sent = [client, streams].map(sentAuthorization);
    try {
      await createTable(client, 'emulator-auth');
      await client.send(
        new PutItemCommand({ TableName: 'emulator-auth', Item: { pk: { S: 'a' }, sk: { S: 'b' } } }),
      );
      const read = await client.send(
        new GetItemCommand({ TableName: 'emulator-auth', Key: { pk: { S: 'a' }, sk: { S: 'b' } } }),
      );
      expect(read.Item?.pk?.S).toBe('a');
      const listed = await streams.send(new ListStreamsCommand({ TableName: 'emulator-auth' }));
      expect(listed.Streams).toHaveLength(1);
      for (const headers of sent) {
        expect(headers.length).toBeGreaterThan(0);
        expect(new Set(headers)).toEqual(new Set([EMULATOR_AUTHORIZATION]));
      }
    } finally {
      client.destroy();
      streams.destroy();
    }
  });

  it('is refused without the header: the emulator needs its access key, not a signature', async () => {
    const response = await fetch(dynamodb.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.ListTables',
      },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('MissingAuthenticationToken');
    // The same call with the header the clients send is answered.
    const client = localClient(dynamodb.endpoint);
    await expect(client.send(new ListTablesCommand({}))).resolves.toMatchObject({
      TableNames: expect.any(Array),
    });
    client.destroy();
  });
});
