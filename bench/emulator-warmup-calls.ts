import { localClient } from '../lib/local/dynamodb-local.js';
import { createTable, LOCAL_TABLE } from '../lib/local/table.js';
import { DynamoDbStore } from '../lib/store/dynamodb-store.js';
import { benchHeartbeat, benchLeaseKey, closedLoop } from './store-calls.js';

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

/** The i-th call: a heartbeat, a read, a timer, in turn, over the leases of bench/store-calls.ts. */
function warmupCall(store: DynamoDbStore, i: number, startedAt: number): Promise<unknown> {
  const now = Date.now();
  if (i % 3 === 1) return store.loadLease(benchLeaseKey('warmup', i));
  // Each lease's timer earlier than the one before, so each is armed.
  if (i % 3 === 2) return store.armTimer(benchLeaseKey('warmup', i), startedAt + (calls - i) * 1000, now);
  return benchHeartbeat(store, 'warmup', i, now + i);
}

const client = localClient(endpoint);
try {
  const table = `${LOCAL_TABLE}-warmup-${process.pid}`;
  await createTable(client, table);
  const store = new DynamoDbStore(client, table);
  const startedAt = Date.now();
  await closedLoop(calls, IN_FLIGHT, (i) => warmupCall(store, i, startedAt));
} finally {
  client.destroy();
}
