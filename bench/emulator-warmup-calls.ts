import { onConditionFailed } from '../lib/errors.js';
import { localClient } from '../lib/local/dynamodb-local.js';
import { createTable, LOCAL_TABLE } from '../lib/local/table.js';
import { DynamoDbStore } from '../lib/store/dynamodb-store.js';
import { benchHeartbeat, benchLeaseKey } from './store-calls.js';

/**
 * The warm-up's calls (bench/emulator-warmup.ts), run in a process of their own:
 * `emulator-warmup-calls.ts <endpoint> <calls>`. The store's own calls on a table defined as the
 * coordinator's: a candidate's conditional write, the lease's read and a timer's conditional write,
 * four in flight.
 */

const IN_FLIGHT = 4;
const [endpoint, callsArg] = process.argv.slice(2);
const calls = Number(callsArg);
if (endpoint === undefined || !Number.isInteger(calls) || calls <= 0)
  throw new Error('usage: emulator-warmup-calls.ts <endpoint> <calls>');

const client = localClient(endpoint);
const table = `${LOCAL_TABLE}-warmup-${process.pid}`;
await createTable(client, table);
const store = new DynamoDbStore(client, table);
const start = Date.now();
const call = async (i: number): Promise<unknown> => {
  const now = Date.now();
  if (i % 3 === 1) return store.loadLease(benchLeaseKey('warmup', i));
  // Each lease's timer earlier than the one before, and ahead, so each is armed.
  if (i % 3 === 2)
    return store
      .armTimer(benchLeaseKey('warmup', i), start + (calls - i) * 1000, now)
      .catch(onConditionFailed(undefined));
  return benchHeartbeat(store, 'warmup', i, now + i);
};
let next = 0;
try {
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < calls) await call(next++);
    }),
  );
} finally {
  client.destroy();
}
