import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PackagedCoordinator,
  startPackagedCoordinator,
} from '../../lib/local/packaged/packaged-coordinator.js';
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
