import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatMicroTime } from '../../lib/api/time.js';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../lib/local/dynamodb-local.js';
import { createTable } from '../../lib/local/table.js';
import type { IngestDeps } from '../../lib/ports/coordinator.js';
import { ungroupedLeases } from '../../lib/ports/lease-key.js';
import { DynamoDbStore } from '../../lib/store/dynamodb-store.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { ingestCandidate } from '../../lib/sync/ingest-candidate.js';

/**
 * Objects a cluster can hold that the table cannot: DynamoDB bounds an item at 400 KB, the apiserver
 * bounds neither a Lease's holderIdentity nor its preferredHolder. A write that can never succeed
 * would fail its cluster's list on every relist; such an object is refused before any write.
 */
describe('odd objects in ingest (integration: DynamoDB Local)', () => {
  let local: DynamoDbLocal;
  let store: DynamoDbStore;
  beforeAll(async () => {
    local = await startDynamoDbLocal();
    await createTable(local.client, 'odd-objects');
    store = new DynamoDbStore(local.client, 'odd-objects');
  });
  afterAll(async () => {
    await local?.stop();
  });

  it('refuses a Lease whose holderIdentity no item could hold, naming the field, and stores nothing', async () => {
    const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
    const warn = vi.spyOn(logger, 'warn');
    // No cluster is read: what ingest refuses, it refuses from the object alone.
    const clusters = { get: () => Promise.reject(new Error('no cluster is read here')) };
    const deps: IngestDeps = { store, clock: Date.now, logger, leases: ungroupedLeases, clusters };
    // A candidate competes for the Lease, so its events are ours to record.
    const candidate = {
      apiVersion: 'coordination.k8s.io/v1beta1',
      kind: 'LeaseCandidate',
      metadata: { name: 'sched-a', namespace: 'default', resourceVersion: '1' },
      spec: {
        leaseName: 'scheduler',
        binaryVersion: '1.34.0',
        emulationVersion: '1.34.0',
        strategy: 'OldestEmulationVersion',
        renewTime: formatMicroTime(Date.now()),
      },
    };
    expect((await ingestCandidate(deps, 'alpha', 'ADDED', candidate)).outcome).toBe('stored');
    const key = ungroupedLeases('alpha', 'default', 'scheduler');
    const before = await store.loadLease(key);

    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'scheduler', namespace: 'default', resourceVersion: '2' },
      spec: {
        holderIdentity: 'h'.repeat(450_000),
        leaseDurationSeconds: 15,
        renewTime: formatMicroTime(Date.now()),
      },
    };
    expect((await ingestLease(deps, 'alpha', lease)).outcome).toBe('ignored');

    expect(await store.loadLease(key)).toEqual(before);
    expect(warn).toHaveBeenCalledWith(
      'ignoring an invalid Lease',
      expect.objectContaining({ reason: expect.stringMatching(/^spec\.holderIdentity: /) }),
    );
  });
});
