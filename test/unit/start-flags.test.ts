import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { finished, ROOT } from '../helpers/cli-process.js';

/**
 * `npm start -- --clusters FILE` with a file a newcomer mistyped: refused as a bad flag, naming the
 * field, before anything starts (no DynamoDB Local, no stack trace).
 */

const dir = mkdtempSync(join(tmpdir(), 'start-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KUBECONFIG = {
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [{ name: 'a', cluster: { server: 'https://127.0.0.1:1' } }],
  users: [{ name: 'u', user: { token: 't' } }],
  contexts: [{ name: 'cluster-a', context: { cluster: 'a', user: 'u' } }],
};
writeFileSync(join(dir, 'kubeconfig'), JSON.stringify(KUBECONFIG));

function config(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function start(clustersFile: string, port = '0') {
  return finished(
    spawn(
      process.execPath,
      ['--import', 'tsx', 'lib/start/main.ts', '--port', port, '--clusters', clustersFile],
      // A regression would start the coordinator: SIGTERM stops it, DynamoDB Local included.
      { cwd: ROOT, timeout: 15_000 },
    ),
  );
}

describe('npm start --clusters (unit: the command line, nothing started)', () => {
  it.each([
    [
      'typo-key.yaml',
      'clusters: [{name: a, kubeconfig: {path: kubeconfig, context: cluster-a}}]\nleasegroups: []\n',
      'invalid clusters config: leasegroups: unknown field (did you mean "leaseGroups"?)',
    ],
    [
      'typo-context.yaml',
      'clusters: [{name: a, kubeconfig: {path: kubeconfig, context: cluster-x}}]\n',
      'clusters[0].kubeconfig.context: no context "cluster-x" in the kubeconfig (its contexts: cluster-a)',
    ],
    [
      'typo-path.yaml',
      'clusters: [{name: a, kubeconfig: {path: kubeconfg, context: cluster-a}}]\n',
      'clusters[0].kubeconfig.path: ',
    ],
  ])(
    'refuses %s, naming the field',
    async (name, text, message) => {
      const file = config(name, text);
      const run = await start(file);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        `error: option '--clusters <file>' argument '${file}' is invalid. ${message}`,
      );
      expect(run.stderr).not.toMatch(/^\s+at /m);
      expect(run.stdout).not.toContain('starting DynamoDB Local');
    },
    20_000,
  );

  it('refuses a bad --port with exit 2, as every other command line refuses a bad flag', async () => {
    const file = config(
      'good.yaml',
      'clusters: [{name: a, kubeconfig: {path: kubeconfig, context: cluster-a}}]\n',
    );
    const run = await start(file, 'abc');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("option '--port <port>' argument 'abc' is invalid");
    // One line and where to look, not the whole usage after it.
    expect(run.stderr).toContain('(add --help for usage)');
    expect(run.stderr).not.toContain('Options:');
    expect(run.stdout).not.toContain('starting DynamoDB Local');
  }, 20_000);
});
