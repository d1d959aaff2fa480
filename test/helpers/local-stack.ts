import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import {
  type LocalCoordinator,
  type LocalCoordinatorOptions,
  startLocalCoordinator,
} from '../../lib/local/local-coordinator.js';

/** Wakes waiters when something happened, so tests await events instead of sleeping. */
export class Notifier {
  private waiters: (() => void)[] = [];
  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
  next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/**
 * Drains both stream consumers and checks; until the check passes, waits for the next cluster
 * event to be ingested and tries again. Gives up after `rounds` events.
 */
export async function settle(stack: TestStack, check: () => Promise<boolean>, rounds = 200): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const next = stack.ingested.next();
    await stack.streams.drain();
    await stack.mirror.drain();
    if (await check()) return;
    await next;
  }
  throw new Error(`not settled after ${rounds} ingested events`);
}

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
  /** Resolves `next()` after the next cluster event ingest stored. */
  readonly ingested: Notifier;
  post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
  postRaw(path: string, body: string): Promise<{ status: number; json: Record<string, unknown> }>;
  /** Every item in the table, sorted, for before/after comparisons. */
  snapshot(): Promise<unknown[]>;
}

export interface TestStackOptions {
  /** Where the test clock starts; by default the wall clock (DynamoDB Local really deletes items whose TTL has passed). */
  readonly start?: number;
  /** Use the real clock: for tests against real apiservers, whose clients run in real time. */
  readonly realClock?: boolean;
  readonly clusters?: LocalCoordinatorOptions['clusters'];
  readonly onCandidateApi?: LocalCoordinatorOptions['onCandidateApi'];
  readonly rediscoverEveryMs?: number;
  readonly onTableClient?: LocalCoordinatorOptions['onTableClient'];
}

export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const clock = new TestClock(options.start ?? Math.floor(Date.now() / 1000) * 1000);
  const records: DynamoDBRecord[] = [];
  const ingested = new Notifier();
  const stack = await startLocalCoordinator({
    clock: options.realClock === true ? Date.now : clock.read,
    // LOG_LEVEL=DEBUG shows what the coordinator did when a test fails.
    logLevel: (process.env.LOG_LEVEL as 'DEBUG' | undefined) ?? 'SILENT',
    observe: (r) => records.push(r),
    onIngest: () => ingested.notify(),
    ...(options.clusters !== undefined && { clusters: options.clusters }),
    ...(options.onCandidateApi !== undefined && { onCandidateApi: options.onCandidateApi }),
    ...(options.rediscoverEveryMs !== undefined && { rediscoverEveryMs: options.rediscoverEveryMs }),
    ...(options.onTableClient !== undefined && { onTableClient: options.onTableClient }),
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
    ingested,
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
