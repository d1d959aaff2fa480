import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warmEmulator } from '../../bench/emulator-warmup.js';
import { freePort } from '../../lib/local/dynamodb-local.js';
import { DynamoDbStore } from '../../lib/store/dynamodb-store.js';
import { startTestStack, type TestStack } from '../helpers/local-stack.js';

describe('the bench’s emulator warm-up (integration: DynamoDB Local)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('makes the store’s calls into a table of its own and leaves the coordinator’s table as it was', async () => {
    const before = await stack.dynamodb.client.send(new ListTablesCommand({}));
    const warmup = await warmEmulator(stack.dynamodb.endpoint, 300);
    expect(warmup.calls).toBe(300);

    const after = await stack.dynamodb.client.send(new ListTablesCommand({}));
    const added = (after.TableNames ?? []).filter((t) => !(before.TableNames ?? []).includes(t));
    expect(added).toHaveLength(1);
    const scratch = new DynamoDbStore(stack.dynamodb.client, added[0] as string);
    const lease = await scratch.loadLease({ scope: 'warmup', namespace: 'default', name: 'lease-0' });
    expect(lease.candidates.map((c) => c.name)).toEqual(['candidate-0']);
    expect(lease.timerDueAt).toBeGreaterThan(Date.now());

    const leases = [];
    for await (const scanned of stack.deps.store.scanLeases()) leases.push(scanned);
    expect(leases).toEqual([]);
  });

  it('fails when its calls cannot reach the emulator, rather than timing a cold one', async () => {
    await expect(warmEmulator(`http://127.0.0.1:${await freePort()}`, 10)).rejects.toThrow();
  });
});
