import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { handler as heartbeat } from '../../functions/heartbeat.js';
import { countConditionalFailures } from '../../lib/store/conditional-failures.js';
import { capturedEmf, type EmfLine, emfWritten, sums } from '../helpers/emf-capture.js';

const context = { getRemainingTimeInMillis: () => 20_000, awsRequestId: 'req-1' } as Context;
const request = {
  pathParameters: { cluster: 'alpha' },
  headers: { 'content-type': 'application/json' },
  body: '{}',
  isBase64Encoded: false,
  requestContext: { http: { method: 'POST' } },
} as unknown as APIGatewayProxyEventV2;

/** One invocation of the deployed heartbeat handler, and the EMF lines it wrote to stdout. */
async function invoke(): Promise<{ status: number | undefined; lines: EmfLine[] }> {
  const { result, lines } = await emfWritten(
    async () =>
      (await heartbeat(request, context, () => undefined)) as Exclude<APIGatewayProxyResultV2, string>,
  );
  return { status: result.statusCode, lines };
}

describe('a Lambda handler writes its metrics once per invocation (unit: functions/heartbeat, no I/O)', () => {
  beforeAll(() => {
    // Deployed without a clusters config: every request is answered 401 before the table is touched.
    vi.stubEnv('CLUSTERS_CONFIG_PARAMETER', '');
    vi.stubEnv('TABLE_NAME', 'lease-coordinator-ci');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('METRICS_SERVICE', 'lease-coordinator-ci');
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it('one EMF line per invocation, under the stack’s service dimension, with what that invocation counted', async () => {
    for (let i = 0; i < 2; i++) {
      const { status, lines } = await invoke();
      expect(status).toBe(401);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ service: 'lease-coordinator-ci', Reason: 'Unauthorized' });
      expect(sums(lines, 'HeartbeatsRejected')).toEqual({ Unauthorized: 1, '': 1 });
    }
  });
});

describe('conditional-check failures (unit: a DynamoDB client whose request is refused before it is sent)', () => {
  it('counts each write refused by its condition once, by operation, and no other error', async () => {
    const { metrics, lines, invocation } = capturedEmf();
    const client = new DynamoDBClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    countConditionalFailures(client, metrics);
    let refusal: Error = new ConditionalCheckFailedException({ message: 'refused', $metadata: {} });
    client.middlewareStack.add(
      () => async () => {
        throw refusal;
      },
      { step: 'finalizeRequest', name: 'refuse' },
    );
    const put = () =>
      client.send(new PutItemCommand({ TableName: 't', Item: { pk: { S: 'a' } } })).catch(() => undefined);
    await invocation(async () => {
      await put();
      await put();
      refusal = new Error('ThrottlingException');
      await put();
    });
    expect(sums(lines, 'ConditionalCheckFailures')).toEqual({ PutItem: 2, '': 2 });
    client.destroy();
  });
});
