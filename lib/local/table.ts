import { readFileSync } from 'node:fs';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { parse } from 'yaml';

/** The table `npm start` and the packaged mode create in DynamoDB Local (and `cli --endpoint` reads by default). */
export const LOCAL_TABLE = 'lease-coordinator-local';

const TABLE_DEFINITION = new URL('../../infra/table.yml', import.meta.url);

interface TableProperties {
  BillingMode: 'PAY_PER_REQUEST';
  AttributeDefinitions: CreateTableCommandInput['AttributeDefinitions'];
  KeySchema: CreateTableCommandInput['KeySchema'];
  StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' };
  TimeToLiveSpecification: { AttributeName: string; Enabled: boolean };
}

/**
 * Creates the table from infra/table.yml, the same resource serverless.yml deploys, so the local
 * table cannot drift from the deployed one. Returns the stream ARN.
 */
export async function createTable(client: DynamoDBClient, tableName: string): Promise<string> {
  const resource = parse(readFileSync(TABLE_DEFINITION, 'utf8')) as { Properties: TableProperties };
  const props = resource.Properties;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: props.BillingMode,
      AttributeDefinitions: props.AttributeDefinitions,
      KeySchema: props.KeySchema,
      StreamSpecification: { StreamEnabled: true, StreamViewType: props.StreamSpecification.StreamViewType },
    }),
  );
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: {
        AttributeName: props.TimeToLiveSpecification.AttributeName,
        Enabled: props.TimeToLiveSpecification.Enabled,
      },
    }),
  );
  const described = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const streamArn = described.Table?.LatestStreamArn;
  if (streamArn === undefined) throw new Error(`table ${tableName} has no stream`);
  return streamArn;
}

/**
 * The table's stream and where a new reader of it starts: a table already there (left by a stopped
 * coordinator) from its newest record on, as a new event source mapping (serverless.yml's
 * startingPosition: LATEST); else the table is created now (`createTable`) and read from its start.
 */
export async function openTable(
  client: DynamoDBClient,
  tableName: string,
): Promise<{ streamArn: string; startingPosition: 'LATEST' | 'TRIM_HORIZON' }> {
  const described = await client
    .send(new DescribeTableCommand({ TableName: tableName }))
    .catch((error: unknown) => {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    });
  const existing = described?.Table?.LatestStreamArn;
  if (existing !== undefined) return { streamArn: existing, startingPosition: 'LATEST' };
  return { streamArn: await createTable(client, tableName), startingPosition: 'TRIM_HORIZON' };
}
