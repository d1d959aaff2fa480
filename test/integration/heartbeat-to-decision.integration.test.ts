import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { candidate, startTestStack, type TestStack } from '../helpers/local-stack.js';

const LEASE = { scope: 'alpha', namespace: 'kube-system', name: 'kube-scheduler' };

describe('heartbeat → stream → elect → decision (integration: DynamoDB Local)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('elects the oldest emulation version from two pushed heartbeats', async () => {
    const now = stack.clock.now;
    const newer = await stack.post(
      '/clusters/alpha/leasecandidates',
      candidate('sched-a', { binary: '1.34.0', emulation: '1.34.0' }, now),
    );
    const older = await stack.post(
      '/clusters/alpha/leasecandidates',
      candidate('sched-b', { binary: '1.34.0', emulation: '1.33.0' }, now),
    );
    expect([newer.status, older.status]).toEqual([201, 201]);

    await stack.streams.drain();

    const { lease } = await stack.deps.store.loadLease(LEASE);
    expect(lease?.record.holderIdentity).toBe('sched-b');
    expect(lease?.record.strategy).toBe('OldestEmulationVersion');
    expect(lease?.record.leaseDurationSeconds).toBe(5);
    expect(lease?.record.term).toBe(1);
  });

  it('stores a heartbeat that changes nothing without waking elect', async () => {
    await stack.streams.drain();
    const before = { ...stack.streams.invocations };
    const renewed = await stack.post(
      '/clusters/alpha/leasecandidates',
      candidate('sched-b', { binary: '1.34.0', emulation: '1.33.0' }, stack.clock.now + 500),
    );
    expect(renewed.status).toBe(200);
    await stack.streams.drain();
    expect(stack.streams.invocations).toEqual(before);
    const { candidates } = await stack.deps.store.loadLease(LEASE);
    expect(candidates.find((c) => c.name === 'sched-b')?.sentRenewTime).toBe(stack.clock.now + 500);
  });

  it('answers a repeated heartbeat with 200 and a stale one with 409, storing nothing for the stale one', async () => {
    const later = stack.clock.now + 1000;
    const renewed = await stack.post(
      '/clusters/alpha/leasecandidates',
      candidate('sched-a', { binary: '1.34.0', emulation: '1.34.0' }, later),
    );
    expect(renewed.status).toBe(200);
    const before = await stack.snapshot();
    const stale = await stack.post(
      '/clusters/alpha/leasecandidates',
      candidate('sched-a', { binary: '1.34.0', emulation: '1.34.0' }, later),
    );
    expect(stale.status).toBe(409);
    expect(stale.json.reason).toBe('Conflict');
    expect(await stack.snapshot()).toEqual(before);
  });

  it('gives the same state when the stream records are replayed twice and out of order', async () => {
    await stack.streams.drain();
    const before = await stack.snapshot();
    const delivered = stack.records.filter((r) => r.dynamodb?.Keys?.pk?.S?.startsWith('LEASE#alpha/'));
    expect(delivered.length).toBeGreaterThan(2);
    const replay = [...delivered].reverse().concat(
      delivered.filter((_, i) => i % 2 === 0),
      [...delivered].reverse(),
    );
    const { handleStreamBatch } = await import('../../lib/handlers/elect.js');
    const response = await handleStreamBatch(stack.deps, { Records: replay });
    expect(response.batchItemFailures).toEqual([]);
    await stack.streams.drain();
    expect(await stack.snapshot()).toEqual(before);
  });
});
