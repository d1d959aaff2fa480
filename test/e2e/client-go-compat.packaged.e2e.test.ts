import { readFileSync } from 'node:fs';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startPackagedCoordinatedClusters } from '../../lib/harness/coordinated-clusters.js';
import type { FunctionName } from '../../lib/local/invocations.js';
import { PACKAGE_DIR } from '../../lib/local/packaged/bundles.js';
import {
  type PackagedCoordinator,
  startPackagedCoordinator,
} from '../../lib/local/packaged/packaged-coordinator.js';
import { readStackTemplate } from '../../lib/local/packaged/stack-template.js';
import { candidate } from '../helpers/local-stack.js';
import { describeClientGoCompat } from './client-go-compat.js';

/**
 * The same scenarios against what `serverless deploy` ships: the packaged bundles in Lambda-like
 * containers, whole-second SQS delays, the minute schedules (npm start -- --packaged).
 */
describeClientGoCompat({
  name: 'packaged bundles (npm start -- --packaged)',
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
  it('runs each function with the timeout, stream mapping, queue, schedule and routes serverless.yml declares', () => {
    const template = readStackTemplate(PACKAGE_DIR);
    // serverless.yml as written (its CloudFormation tags are irrelevant here and left unresolved).
    const declared = parseYaml(readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8'), {
      logLevel: 'error',
    }) as ServerlessYml;
    const filters = JSON.parse(
      readFileSync(new URL('../../infra/stream-filters.json', import.meta.url), 'utf8'),
    ) as Record<string, unknown>;
    for (const [name, fn] of Object.entries(declared.functions)) {
      expect(template.functions.get(name as FunctionName), name).toMatchObject({
        handler: fn.handler,
        timeoutSeconds: fn.timeout ?? declared.provider.timeout,
      });
      const stream = fn.events.find((e) => e.stream !== undefined)?.stream;
      if (stream !== undefined) {
        expect(template.streams[name as 'elect' | 'mirror'], name).toEqual({
          batchSize: stream.batchSize,
          maximumRetryAttempts: stream.maximumRetryAttempts,
          maximumRecordAgeInSeconds: stream.maximumRecordAgeInSeconds,
          bisectBatchOnFunctionError: stream.bisectBatchOnFunctionError,
          reportBatchItemFailures: stream.functionResponseType === 'ReportBatchItemFailures',
          filters: filters[name],
        });
      }
      if (fn.events.some((e) => e.schedule !== undefined)) {
        // Lambda's own defaults where serverless.yml sets none.
        expect(template.schedules.get(name as FunctionName), name).toEqual({
          maximumRetryAttempts: fn.maximumRetryAttempts ?? 2,
          maximumEventAgeInSeconds: fn.maximumEventAge ?? 21_600,
        });
      }
    }
    expect([...template.schedules.keys()].sort()).toEqual(['ingest', 'sweep']);
    expect(template.timerQueue).toEqual({
      batchSize: 10,
      visibilityTimeoutSeconds: 120,
      maxReceiveCount: 5,
      reportBatchItemFailures: true,
      maximumConcurrency: 2,
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

interface ServerlessYml {
  provider: { timeout: number };
  functions: Record<
    string,
    {
      handler: string;
      timeout?: number;
      maximumRetryAttempts?: number;
      maximumEventAge?: number;
      events: {
        schedule?: string;
        stream?: {
          batchSize: number;
          maximumRetryAttempts: number;
          maximumRecordAgeInSeconds: number;
          bisectBatchOnFunctionError: boolean;
          functionResponseType: string;
        };
      }[];
    }
  >;
}
