import type { Context, DynamoDBStreamEvent, ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { handler as ingest } from '../../functions/ingest.js';
import { handler as mirror } from '../../functions/mirror.js';
import { logger } from '../../lib/runtime/deps.js';

const tick = { 'detail-type': 'Scheduled Event', source: 'aws.events' } as ScheduledEvent;
const context = { getRemainingTimeInMillis: () => 65_000, awsRequestId: 'req-1' } as Context;
const decision: DynamoDBStreamEvent = {
  Records: [
    {
      eventName: 'MODIFY',
      dynamodb: {
        Keys: { pk: { S: 'LEASE#alpha/kube-system/kube-scheduler' }, sk: { S: 'LEASE' } },
        NewImage: {
          pk: { S: 'LEASE#alpha/kube-system/kube-scheduler' },
          sk: { S: 'LEASE' },
          kind: { S: 'lease' },
          change: { S: 'decision' },
        },
        SequenceNumber: '1',
      },
    },
  ],
};

describe('ingest and mirror deployed without clusters (unit: the function handlers, no I/O)', () => {
  beforeAll(() => {
    // As `serverless deploy` without --param clustersConfigParameter sets it: an empty string.
    vi.stubEnv('CLUSTERS_CONFIG_PARAMETER', '');
    vi.stubEnv('TABLE_NAME', 'lease-coordinator-ci');
    vi.stubEnv('TIMER_QUEUE_URL', 'https://sqs.us-east-1.amazonaws.com/111122223333/timers');
    vi.stubEnv('AWS_REGION', 'us-east-1');
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it('do nothing, fail nothing, and say so once per container', async () => {
    const info = vi.spyOn(logger, 'info');
    await expect(ingest(tick, context, () => undefined)).resolves.toBeUndefined();
    await expect(mirror(decision, context, () => undefined)).resolves.toEqual({ batchItemFailures: [] });
    await expect(ingest(tick, context, () => undefined)).resolves.toBeUndefined();
    const said = info.mock.calls.filter(([message]) =>
      String(message).includes('nothing to watch or mirror'),
    );
    expect(said).toHaveLength(1);
  });
});
