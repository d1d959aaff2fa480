import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { type LocalCoordinator, startLocalCoordinator } from '../../lib/local/local-coordinator.js';

/** A clock the test moves by hand. */
export class TestClock {
  constructor(public now: number) {}
  readonly read = () => this.now;
  advance(ms: number): number {
    this.now += ms;
    return this.now;
  }
}

export interface TestStack extends LocalCoordinator {
  readonly clock: TestClock;
  /** Every stream record seen, filtered or not, in order. */
  readonly records: DynamoDBRecord[];
  post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
  postRaw(path: string, body: string): Promise<{ status: number; json: Record<string, unknown> }>;
  /** Every item in the table, sorted, for before/after comparisons. */
  snapshot(): Promise<unknown[]>;
}

// Starts at the wall clock: DynamoDB Local really deletes items whose TTL (epoch seconds) has passed.
export async function startTestStack(start = Math.floor(Date.now() / 1000) * 1000): Promise<TestStack> {
  const clock = new TestClock(start);
  const records: DynamoDBRecord[] = [];
  const stack = await startLocalCoordinator({
    clock: clock.read,
    logLevel: 'SILENT',
    observe: (r) => records.push(r),
  });
  const postRaw = async (path: string, body: string) => {
    const response = await fetch(`${stack.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  return {
    ...stack,
    clock,
    records,
    postRaw,
    post: (path, body) => postRaw(path, JSON.stringify(body)),
    snapshot: async () => {
      const out = await stack.dynamodb.client.send(
        new ScanCommand({ TableName: stack.tableName, ConsistentRead: true }),
      );
      return (out.Items ?? []).map((item) => JSON.stringify(item)).sort();
    },
  };
}

export function candidate(
  name: string,
  versions: { binary: string; emulation: string },
  renewTime: number,
  overrides: { leaseName?: string; strategy?: string; apiVersion?: string } = {},
) {
  return {
    apiVersion: overrides.apiVersion ?? 'coordination.k8s.io/v1beta1',
    kind: 'LeaseCandidate',
    metadata: { name, namespace: 'kube-system' },
    spec: {
      leaseName: overrides.leaseName ?? 'kube-scheduler',
      binaryVersion: versions.binary,
      emulationVersion: versions.emulation,
      strategy: overrides.strategy ?? 'OldestEmulationVersion',
      renewTime: new Date(renewTime).toISOString(),
    },
  };
}
