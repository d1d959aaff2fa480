import { createServer, type Server } from 'node:http';
import { loadavg } from 'node:os';
import { Logger } from '@aws-lambda-powertools/logger';
import { anyCaller } from '../lib/http/callers.js';
import { handleHeartbeat } from '../lib/http/heartbeat-api.js';
import { startDynamoDbLocal } from '../lib/local/dynamodb-local.js';
import { closeServer, startHttpServer } from '../lib/local/http-server.js';
import { createTable } from '../lib/local/table.js';
import { PrometheusMetrics } from '../lib/metrics/prometheus-metrics.js';
import type { HttpRouteDeps } from '../lib/ports/http.js';
import { countConditionalFailures } from '../lib/store/conditional-failures.js';
import { DynamoDbStore } from '../lib/store/dynamodb-store.js';
import { configPolicies } from '../lib/wiring/policies.js';
import { ClosedLoopHeartbeats, type Phase } from './load-baseline.js';
import { KeepAliveClient } from './load-client.js';
import { bodyAround, HEARTBEAT_PATH } from './load-generator.js';
import { findJavaChild } from './load-proc.js';
import { closedLoop } from './store-calls.js';

/**
 * The HTTP heartbeat path against its own write, with nothing else running (no stream consumer,
 * no renewals, no elections): `npx tsx bench/heartbeat-overhead.ts [rounds] [seconds]`.
 *
 * 1. The layers in front of the write, each alone, CPU per heartbeat: the handler over a store
 *    that answers at once, and an HTTP round trip (client and server in this process) through
 *    the local API Gateway adapter and through a bare node:http server, both with a fixed answer.
 * 2. The whole path against the write alone, on DynamoDB Local, in alternating closed-loop
 *    phases (64 in flight), as in `npm run load` but without the coordinator's background work.
 * `--only table` or `--only http` runs one way for the whole time instead (for --cpu-prof).
 */

const IN_FLIGHT = 64;
const CANDIDATES = 999;
const CLUSTER_ROUTE = '/clusters/{cluster}/leasecandidates';
const FIXED_ANSWER = JSON.stringify({ kind: 'LeaseCandidate', apiVersion: 'coordination.k8s.io/v1beta1' });

const policies = configPolicies(undefined, anyCaller);
const logger = new Logger({ serviceName: 'heartbeat-overhead', logLevel: 'ERROR' });
const bodies = Array.from({ length: CANDIDATES }, (_, i) => bodyAround(i));
const bodyOf = (i: number) => {
  const [head, tail] = bodies[i % CANDIDATES] ?? ['', ''];
  return `${head}${new Date().toISOString()}${tail}`;
};

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Node CPU per call, in µs, after an untimed warm-up of the same calls. */
async function microsPerCall(n: number, one: (i: number) => Promise<unknown>): Promise<number> {
  await closedLoop(Math.min(n, 2000), IN_FLIGHT, one);
  const before = cpuMicros();
  await closedLoop(n, IN_FLIGHT, one);
  return (cpuMicros() - before) / n;
}

async function layers(): Promise<void> {
  const stored = {
    created: false,
    candidate: {
      cluster: 'load',
      namespace: 'kube-system',
      name: 'load-0000-0',
      leaseName: 'load-0000',
      apiVersion: 'v1beta1' as const,
      binaryVersion: '1.34.0',
      emulationVersion: '1.32.0',
      strategy: 'OldestEmulationVersion',
      creationTimestamp: 1,
      renewTime: 2,
      sentRenewTime: 2,
    },
  };
  const deps = {
    store: { putHeartbeat: async () => stored },
    clock: Date.now,
    logger,
    leases: policies.leases,
    callers: anyCaller,
  } as unknown as HttpRouteDeps;
  const event = (i: number) =>
    ({
      version: '2.0',
      routeKey: `POST ${CLUSTER_ROUTE}`,
      rawPath: HEARTBEAT_PATH,
      rawQueryString: '',
      headers: { 'content-type': 'application/json' },
      pathParameters: { cluster: 'load' },
      body: bodyOf(i),
      isBase64Encoded: false,
    }) as never;
  const handler = await microsPerCall(20_000, (i) => handleHeartbeat(deps, event(i)));
  const { server: adapter, url } = await startHttpServer(
    [{ method: 'POST', path: CLUSTER_ROUTE, handler: async () => ({ statusCode: 200, body: FIXED_ANSWER }) }],
    0,
  );
  const viaAdapter = new KeepAliveClient(url, IN_FLIGHT);
  const adapterTrip = await microsPerCall(20_000, (i) => viaAdapter.post(HEARTBEAT_PATH, bodyOf(i)));
  const bare = await bareServer();
  const viaBare = new KeepAliveClient(bare.url, IN_FLIGHT);
  const bareTrip = await microsPerCall(20_000, (i) => viaBare.post(HEARTBEAT_PATH, bodyOf(i)));
  viaAdapter.close();
  viaBare.close();
  await closeServer(adapter);
  await closeServer(bare.server);
  console.log('Node CPU per heartbeat, in front of the write (µs):');
  console.log(`  handler (parse, validate, answer; store answers at once)  ${handler.toFixed(1)}`);
  console.log(`  HTTP round trip, bare node:http server, fixed answer       ${bareTrip.toFixed(1)}`);
  console.log(`  HTTP round trip, local API Gateway adapter, fixed answer   ${adapterTrip.toFixed(1)}`);
}

async function bareServer(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(FIXED_ANSWER);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}` };
}

async function wholePath(rounds: number, seconds: number, only: string | undefined): Promise<void> {
  const local = await startDynamoDbLocal();
  const jvm = findJavaChild();
  if (jvm === undefined) throw new Error('no DynamoDB Local JVM among our children');
  const client = new KeepAliveClient('http://127.0.0.1:1', IN_FLIGHT);
  let server: Server | undefined;
  try {
    // As the local coordinator wires its client and store (lib/local/local-coordinator.ts): the
    // middleware before the client's first call (TABLE_CLIENT_CACHING).
    countConditionalFailures(local.client, new PrometheusMetrics());
    await createTable(local.client, 'heartbeat-overhead');
    const deps: HttpRouteDeps = {
      store: new DynamoDbStore(local.client, 'heartbeat-overhead'),
      clock: Date.now,
      logger,
      leases: policies.leases,
      callers: anyCaller,
    };
    const started = await startHttpServer(
      [{ method: 'POST', path: CLUSTER_ROUTE, handler: (event) => handleHeartbeat(deps, event) }],
      0,
    );
    server = started.server;
    const http = new KeepAliveClient(started.url, IN_FLIGHT);
    const beats = new ClosedLoopHeartbeats(
      deps,
      http,
      HEARTBEAT_PATH,
      new Float64Array(CANDIDATES),
      new Float64Array(CANDIDATES),
      jvm,
    );
    await beats.seed(IN_FLIGHT);
    await beats.measure(beats.table, IN_FLIGHT, 3);
    await beats.measure(beats.http, IN_FLIGHT, 3);
    if (only !== undefined) {
      const phase = await beats.measure(
        only === 'http' ? beats.http : beats.table,
        IN_FLIGHT,
        rounds * seconds,
      );
      console.log(`${only}: ${describe(phase)}`);
    } else {
      const pairs: { table: Phase; http: Phase }[] = [];
      for (let round = 0; round < rounds; round++) {
        const table = await beats.measure(beats.table, IN_FLIGHT, seconds);
        pairs.push({ table, http: await beats.measure(beats.http, IN_FLIGHT, seconds) });
      }
      console.log(`whole path, ${rounds} pairs of ${seconds} s, ${IN_FLIGHT} in flight:`);
      for (const { table, http } of pairs) {
        console.log(
          `  table ${describe(table)} | HTTP ${describe(http)} | ratio ${(http.perSecond / table.perSecond).toFixed(2)}`,
        );
      }
      const sum = (pick: (p: { table: Phase; http: Phase }) => number) =>
        pairs.reduce((s, p) => s + pick(p), 0);
      const cost = (p: Phase) => p.cpuPerWrite.node + p.cpuPerWrite.jvm;
      console.log(
        `  rate ratio over all pairs ${(sum((p) => p.http.perSecond) / sum((p) => p.table.perSecond)).toFixed(2)}; by Node + JVM CPU per write ${(sum((p) => cost(p.table)) / sum((p) => cost(p.http))).toFixed(2)}; by Node CPU alone ${(sum((p) => p.table.cpuPerWrite.node) / sum((p) => p.http.cpuPerWrite.node)).toFixed(2)}`,
      );
    }
    http.close();
  } finally {
    client.close();
    if (server !== undefined) await closeServer(server);
    await local.stop();
  }
}

function describe(p: Phase): string {
  return `${p.perSecond.toFixed(0)}/s, Node ${p.cpuPerWrite.node.toFixed(2)} ms, JVM ${p.cpuPerWrite.jvm.toFixed(2)} ms`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? args.splice(onlyAt, 2)[1] : undefined;
  if (only !== undefined && only !== 'table' && only !== 'http')
    throw new Error('--only takes table or http');
  const [rounds = 4, seconds = 5] = args.map(Number);
  if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(seconds) || seconds < 1)
    throw new Error('usage: heartbeat-overhead.ts [--only table|http] [rounds >= 1] [seconds >= 1]');
  console.log(
    `load average at start: ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}`,
  );
  if (only === undefined) await layers();
  await wholePath(rounds, seconds, only);
  console.log(
    `load average at end: ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
