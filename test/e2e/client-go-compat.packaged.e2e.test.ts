import { readFileSync } from 'node:fs';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_DIR } from '../../lib/local/packaged/bundles.js';
import {
  type PackagedCoordinator,
  startPackagedCoordinator,
} from '../../lib/local/packaged/packaged-coordinator.js';
import { readStackTemplate } from '../../lib/local/packaged/stack-template.js';
import { candidate } from '../helpers/local-stack.js';
import { describeClientGoCompat, FAILOVER_GOAL_MS } from './client-go-compat.js';
import { startPackagedCoordinatedClusters } from './coordinated-clusters.js';

/**
 * The same scenarios against what `serverless deploy` ships: the packaged bundles in Lambda-like
 * containers, whole-second SQS delays, the minute schedules (npm start -- --packaged).
 */
describeClientGoCompat({
  name: 'packaged bundles (npm start -- --packaged)',
  failoverBoundMs: FAILOVER_GOAL_MS,
  start: async (groups, activity) => {
    const clusters = await startPackagedCoordinatedClusters(['alpha', 'beta'], groups, { observe: activity });
    return {
      ...clusters,
      candidateNames: async (key) =>
        (await clusters.coordinator.store.loadLease(key)).candidates.map((c) => c.name),
    };
  },
});

describe('the packaged HTTP API without a clusters config (e2e: packaged bundles, DynamoDB Local)', () => {
  let coordinator: PackagedCoordinator;
  beforeAll(async () => {
    coordinator = await startPackagedCoordinator({ logLevel: 'SILENT' });
  }, 600_000);
  afterAll(async () => {
    await coordinator?.stop();
  });

  it('answers every request 401 as deployed, JSON or base64 body, stores nothing, and reuses the warm container', async () => {
    const body = JSON.stringify(candidate('sched-a', { binary: '1.34.0', emulation: '1.34.0' }, Date.now()));
    const statuses = [];
    for (const type of ['application/json', 'application/octet-stream']) {
      const response = await fetch(`${coordinator.url}/clusters/alpha/leasecandidates`, {
        method: 'POST',
        headers: { 'content-type': type, authorization: 'Bearer anything' },
        body,
      });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([401, 401]);
    const items = await coordinator.dynamodb.client.send(
      new ScanCommand({ TableName: coordinator.tableName, ConsistentRead: true }),
    );
    expect(items.Items ?? []).toEqual([]);
    expect(coordinator.functions.get('heartbeat')?.stats).toMatchObject({
      invocations: 2,
      coldStarts: 1,
      errors: 0,
    });
  });
});

describe('the packaged runtime takes its settings from the packaged template (e2e: serverless package output)', () => {
  it('reads the stream mappings, the timer queue, the schedules and the routes that ship', () => {
    const template = readStackTemplate(PACKAGE_DIR);
    const filters = JSON.parse(
      readFileSync(new URL('../../infra/stream-filters.json', import.meta.url), 'utf8'),
    ) as Record<string, unknown>;
    for (const consumer of ['elect', 'mirror'] as const) {
      expect(template.streams[consumer]).toEqual({
        batchSize: 100,
        maximumRetryAttempts: 5,
        maximumRecordAgeInSeconds: 3600,
        bisectBatchOnFunctionError: true,
        reportBatchItemFailures: true,
        filters: filters[consumer],
      });
    }
    expect(template.timerQueue).toEqual({
      batchSize: 10,
      visibilityTimeoutSeconds: 120,
      maxReceiveCount: 5,
      reportBatchItemFailures: true,
    });
    expect(Object.fromEntries(template.schedules)).toEqual({
      sweep: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: 60 },
      ingest: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 21_600 },
    });
    expect(template.functions.get('ingest')?.timeoutSeconds).toBe(65);
    expect(template.functions.get('heartbeat')).toMatchObject({
      handler: 'functions/heartbeat.handler',
      timeoutSeconds: 20,
    });
    const served = template.routes
      .filter((r) => r.authorization === 'NONE')
      .map((r) => `${r.routeKey} → ${r.function}`);
    expect(served.sort()).toEqual([
      'DELETE /clusters/{cluster}/namespaces/{namespace}/leases/{name}/holder/{identity} → leases',
      'GET /clusters/{cluster}/namespaces/{namespace}/leases/{name} → leases',
      'POST /clusters/{cluster}/leasecandidates → heartbeat',
      'PUT /clusters/{cluster}/namespaces/{namespace}/leases/{name}/holder/{identity} → leases',
    ]);
  });
});
