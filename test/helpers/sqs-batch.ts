import type { SQSEvent } from 'aws-lambda';

/** An SQS batch as Lambda's poller hands it to `requeue`: one record per body, ids m0, m1, … */
export function sqsBatch(bodies: readonly string[], firstId = 0): SQSEvent {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `m${firstId + i}`,
      receiptHandle: `r${firstId + i}`,
      body,
      attributes: {} as SQSEvent['Records'][number]['attributes'],
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:local:000000000000:timers',
      awsRegion: 'local',
    })),
  };
}
