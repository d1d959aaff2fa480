import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { forEachLease } from '../../lib/handlers/by-lease.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';

function batch(pks: readonly string[]): DynamoDBStreamEvent {
  return {
    Records: pks.map((pk, i) => ({
      eventName: 'MODIFY',
      dynamodb: { Keys: { pk: { S: pk }, sk: { S: 'LEASE' } }, SequenceNumber: String(i + 1) },
    })),
  };
}

describe('a stream batch with a record of no lease (unit: pure)', () => {
  it('passes that record over with a warning naming pk, and does the work of every lease in the batch', async () => {
    const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
    const warn = vi.spyOn(logger, 'warn');
    const worked: LeaseKey[] = [];
    const response = await forEachLease(
      batch(['LEASE#alpha/kube-system/one', 'LOCK#sweep', 'LEASE#alpha/kube-system/two', 'LEASE#no-name']),
      logger,
      'reconcile',
      async (key) => {
        worked.push(key);
      },
    );
    expect(response).toEqual({ batchItemFailures: [] });
    expect(worked.map((k) => k.name)).toEqual(['one', 'two']);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn).toHaveBeenCalledWith(
      'ignoring a stream record of no lease',
      expect.objectContaining({
        reason: expect.stringMatching(/^pk: "LOCK#sweep" is not a lease partition key/),
      }),
    );
  });
});
