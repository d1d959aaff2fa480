import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleSweep, sweepAlone } from '../../lib/handlers/sweep.js';
import { TableLock } from '../../lib/store/table-lock.js';
import { candidate, startTestStack, type TestStack } from '../helpers/local-stack.js';

const silent = { info: () => undefined };

describe('one sweep at a time without reserved concurrency (integration: the table lock on DynamoDB Local)', () => {
  let stack: TestStack;
  let lock: TableLock;
  const lockItem = async () => {
    const { Item } = await stack.dynamodb.client.send(
      new GetItemCommand({ TableName: stack.tableName, Key: marshall({ pk: 'LOCK#sweep', sk: 'LOCK' }) }),
    );
    return Item === undefined ? undefined : unmarshall(Item);
  };

  beforeAll(async () => {
    stack = await startTestStack();
    lock = new TableLock(stack.dynamodb.client, stack.tableName, 'sweep');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('gives the lock to one holder until it lets go or its time runs out', async () => {
    const now = stack.clock.read();
    expect(await lock.acquire('run-1', now, now + 60_000)).toBe(true);
    expect(await lock.acquire('run-2', now + 1_000, now + 61_000)).toBe(false);
    // run-1 crashed without letting go: its deadline passed, the next tick takes over.
    expect(await lock.acquire('run-2', now + 60_001, now + 120_001)).toBe(true);
    // run-1 coming back late does not release run-2's lock.
    await lock.release('run-1');
    expect((await lockItem())?.owner).toBe('run-2');
    await lock.release('run-2');
    expect(await lockItem()).toBeUndefined();
  });

  it('is still taken when its put is sent again after one that landed (the SDK retrying a call that timed out)', async () => {
    const now = stack.clock.read();
    expect(await lock.acquire('run-3', now, now + 60_000)).toBe(true);
    expect(await lock.acquire('run-3', now, now + 60_000)).toBe(true);
    expect(await lock.acquire('run-4', now + 1_000, now + 61_000)).toBe(false);
    await lock.release('run-3');
    expect(await lockItem()).toBeUndefined();
  });

  it('drops a tick while a sweep runs; the sweep scans past its own lock', async () => {
    expect(
      (
        await stack.post(
          '/clusters/alpha/leasecandidates',
          candidate('sched-a', { binary: '1.34.0', emulation: '1.34.0' }, stack.clock.read()),
        )
      ).status,
    ).toBe(201);
    const now = stack.clock.read();
    let finish: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      finish = resolve;
    });
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const first = sweepAlone(lock, { owner: 'run-1', now, until: now + 60_000 }, silent, async () => {
      started();
      await held;
      // The lock item is in the table while this scan runs: it is not a lease, and is passed over.
      return handleSweep(stack.deps);
    });
    await running;
    const second = await sweepAlone(
      lock,
      { owner: 'run-2', now: now + 1_000, until: now + 61_000 },
      silent,
      () => handleSweep(stack.deps),
    );
    expect(second).toBeUndefined();
    finish();
    expect(await first).toMatchObject({ scanned: 1, failed: 0 });
    expect(await lockItem()).toBeUndefined();
    const third = await sweepAlone(
      lock,
      { owner: 'run-3', now: now + 2_000, until: now + 62_000 },
      silent,
      () => handleSweep(stack.deps),
    );
    expect(third).toMatchObject({ scanned: 1, failed: 0 });
  });
});
