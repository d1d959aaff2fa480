import { startDynamoDbLocal } from '../lib/local/dynamodb-local.js';
import { createTable } from '../lib/local/table.js';
import { DynamoDbStore } from '../lib/store/dynamodb-store.js';
import { summarize } from './stats.js';
import { benchHeartbeat, benchLeaseKey, closedLoop } from './store-calls.js';

/**
 * Node CPU per table call through the store, with nothing else running: a lease's read
 * (`loadLease`, a Query) and a candidate's heartbeat (`putHeartbeat`, a conditional Update), eight
 * in flight against DynamoDB Local. `npx tsx bench/table-call-cpu.ts [rounds] [calls]`. The SDK's
 * request pipeline is most of it (docs/benchmark-history.md, "The SDK's cost per table call").
 */

const IN_FLIGHT = 8;
const [rounds = 5, calls = 3000] = process.argv.slice(2).map(Number);

const local = await startDynamoDbLocal();
const table = 'table-call-cpu';
await createTable(local.client, table);
const store = new DynamoDbStore(local.client, table);
let renewTime = 1_000;
const call: Record<string, (i: number) => Promise<unknown>> = {
  loadLease: (i) => store.loadLease(benchLeaseKey('bench', i)),
  putHeartbeat: (i) => benchHeartbeat(store, 'bench', i, renewTime++),
};

/** Microseconds of this process's CPU per call over `n` calls. */
async function cpuPerCall(name: string, n: number): Promise<number> {
  const start = process.cpuUsage();
  await closedLoop(n, IN_FLIGHT, async (i) => call[name]?.(i));
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

try {
  for (const name of Object.keys(call)) await cpuPerCall(name, calls); // warm-up
  const samples = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++)
    for (const name of Object.keys(call))
      samples.set(name, [...(samples.get(name) ?? []), await cpuPerCall(name, calls)]);
  console.log(`Node CPU per table call, µs (${rounds} rounds of ${calls} calls, ${IN_FLIGHT} in flight):`);
  for (const [name, us] of samples)
    console.log(
      `  ${name.padEnd(13)} median ${summarize(us).p50.toFixed(0)}   rounds ${us.map((u) => u.toFixed(0)).join(' ')}`,
    );
} finally {
  await local.stop();
}
