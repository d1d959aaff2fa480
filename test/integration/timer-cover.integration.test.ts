import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TableTimerCover } from '../../lib/store/timer-cover.js';
import { startTestStack, type TestStack } from '../helpers/local-stack.js';

describe('ingest’s timer cover (integration: DynamoDB Local)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('names each cluster until its last promise, reads it back once a second while any lapsed, and is no lease', async () => {
    const clock = () => stack.clock.read();
    const writer = new TableTimerCover(stack.dynamodb.client, stack.tableName, clock);
    const reader = new TableTimerCover(stack.dynamodb.client, stack.tableName, clock);
    const now = clock();
    expect(await reader.coveredClusters(now)).toEqual(new Set());

    await writer.extend(['alpha', 'beta'], now + 15_000);
    // The reader read "nothing" just now: it reads again only after a second.
    expect(await reader.coveredClusters(now)).toEqual(new Set());
    stack.clock.advance(1_000);
    expect(await reader.coveredClusters(clock())).toEqual(new Set(['alpha', 'beta']));

    // A run that stops watching beta extends alpha alone: beta lapses at its last promise.
    await writer.extend(['alpha'], clock() + 15_000);
    stack.clock.advance(14_000);
    expect(await reader.coveredClusters(clock())).toEqual(new Set(['alpha']));
    stack.clock.advance(1_000);
    expect(await reader.coveredClusters(clock())).toEqual(new Set());

    // The sweep's scan passes over it: it is not a lease.
    const scanned = [];
    for await (const lease of stack.deps.store.scanLeases()) scanned.push(lease);
    expect(scanned).toEqual([]);
  });
});
