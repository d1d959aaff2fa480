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
 * bounds neither a Lease's holderIdentity nor its preferredHolder, nor a v1alpha1 LeaseCandidate's
 * strategy list. A write that can never succeed would fail its cluster's list on every relist; such
 * an object is refused before any write.
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

  /** Ingest's deps on the table, and its warnings. No cluster is read: what is refused, is refused from the object alone. */
  function ingestDeps() {
    const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
    const warn = vi.spyOn(logger, 'warn');
    const clusters = { get: () => Promise.reject(new Error('no cluster is read here')) };
    const deps: IngestDeps = { store, clock: Date.now, logger, leases: ungroupedLeases, clusters };
    return { deps, warn };
  }

  /** A LeaseCandidate in namespace default, renewed now, as a cluster lists it. */
  function listedCandidate(apiVersion: string, name: string, spec: Record<string, unknown>) {
    const metadata = { name, namespace: 'default', resourceVersion: '1' };
    const renewTime = formatMicroTime(Date.now());
    return { apiVersion, kind: 'LeaseCandidate', metadata, spec: { ...spec, renewTime } };
  }

  it('refuses a Lease whose holderIdentity no item could hold, naming the field, and stores nothing', async () => {
    const { deps, warn } = ingestDeps();
    // A candidate competes for the Lease, so its events are ours to record.
    const candidate = listedCandidate('coordination.k8s.io/v1beta1', 'sched-a', {
      leaseName: 'scheduler',
      binaryVersion: '1.34.0',
      emulationVersion: '1.34.0',
      strategy: 'OldestEmulationVersion',
    });
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

  it('refuses a v1alpha1 LeaseCandidate whose strategy list no item could hold, naming the field, and stores nothing', async () => {
    const { deps, warn } = ingestDeps();
    // 1,500 qualified names of 250 + 1 + 40 characters, each valid: some 440 KB.
    const prefix = `${'a'.repeat(61)}.${'b'.repeat(61)}.${'c'.repeat(61)}.${'d'.repeat(61)}.io`;
    const preferredStrategies = Array.from(
      { length: 1_500 },
      (_, i) => `${prefix}/S${String(i).padStart(39, '0')}`,
    );
    const candidate = listedCandidate('coordination.k8s.io/v1alpha1', 'many', {
      leaseName: 'alpha-era',
      binaryVersion: '1.31.0',
      emulationVersion: '1.31.0',
      preferredStrategies,
    });
    expect((await ingestCandidate(deps, 'alpha', 'ADDED', candidate)).outcome).toBe('invalid');

    expect(await store.loadLease(ungroupedLeases('alpha', 'default', 'alpha-era'))).toEqual({
      candidates: [],
    });
    expect(warn).toHaveBeenCalledWith(
      'ignoring an invalid LeaseCandidate',
      expect.objectContaining({ reason: expect.stringMatching(/^spec\.preferredStrategies: /) }),
    );
  });
});
