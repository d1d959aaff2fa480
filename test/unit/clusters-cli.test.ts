import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { finished, ROOT } from '../helpers/cli-process.js';

/**
 * `npm run clusters --` with a flag a newcomer got wrong: exit 2 as every command line of the
 * project, naming the flag, before any control plane starts (parsing fails before `up` runs).
 */

function clusters(args: readonly string[]) {
  return finished(
    spawn(process.execPath, ['--import', 'tsx', 'lib/kube-local/clusters-cli.ts', ...args], { cwd: ROOT }),
  );
}

describe('npm run clusters (unit: the command line, nothing started)', () => {
  it.each([
    [['up', '--count', '0'], '--count must be an integer from 1 to 8'],
    [['up', '--gate', 'sometimes'], '--gate must be one of off, on, mixed (got "sometimes")'],
    [['upp'], "unknown command 'upp'"],
  ])('%j exits 2, naming what is wrong', async (args, message) => {
    const run = await clusters(args);
    expect(run.stderr).toContain(message);
    expect(run.code).toBe(2);
  });
});

/**
 * `--state-dir`: a second stack beside one another user (or helper) started, and `down` of that
 * stack only. Nothing is started: `up` refuses a directory whose state.json says clusters are up
 * there, and `down` stops the processes its own directory's state.json lists.
 */
describe('npm run clusters --state-dir (unit: state files only, no control plane)', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'clusters-state-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function stateDirWith(pids: readonly number[], dir = tempDir()): string {
    const plane = {
      name: 'cluster-a',
      gate: 'off',
      server: 'https://127.0.0.1:1',
      dir: join(dir, 'plane'),
      pids,
    };
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ planes: [plane] }));
    return dir;
  }

  it('up refuses a directory whose clusters are up, naming it and the way to a second stack', async () => {
    const dir = stateDirWith([]);
    const run = await clusters(['up', '--state-dir', dir]);
    expect(run.stderr).toContain(`clusters are already up (${join(dir, 'state.json')})`);
    expect(run.stderr).toContain('--state-dir');
    expect(run.code).toBe(2);
  });

  /** A process that names `dir` in its arguments, as the plane's etcd and kube-apiserver do. */
  function processIn(dir: string) {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)', join(dir, 'plane')]);
    const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    return { child, exited };
  }

  it('down stops the stack of its --state-dir and leaves the kubeconfigs', async () => {
    const dir = tempDir();
    const plane = processIn(dir);
    stateDirWith([plane.child.pid ?? 0], dir);
    writeFileSync(join(dir, 'admin.kubeconfig'), 'kept');
    try {
      const run = await clusters(['down', '--state-dir', dir]);
      expect(run.stdout).toContain('stopped cluster-a');
      expect(run.code).toBe(0);
      expect(await plane.exited).toBe('SIGKILL');
      expect(existsSync(join(dir, 'state.json'))).toBe(false);
      expect(readFileSync(join(dir, 'admin.kubeconfig'), 'utf8')).toBe('kept');
    } finally {
      plane.child.kill('SIGKILL');
    }
  });

  it('down leaves a process whose number state.json lists but which is not the stack’s (after a reboot)', async () => {
    const stranger = spawn('sleep', ['60']);
    const dir = stateDirWith([stranger.pid ?? 0]);
    try {
      const run = await clusters(['down', '--state-dir', dir]);
      expect(run.stdout).toContain(`left process ${stranger.pid}: it is not cluster-a's any more`);
      expect(run.code).toBe(0);
      expect(stranger.exitCode).toBe(null);
      expect(stranger.signalCode).toBe(null);
      expect(process.kill(stranger.pid ?? 0, 0)).toBe(true);
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  it('down of an empty --state-dir stops nothing and says where it looked', async () => {
    const dir = tempDir();
    const run = await clusters(['down', '--state-dir', dir]);
    expect(run.stdout).toContain(`no local clusters are up in ${dir}`);
    expect(run.code).toBe(0);
  });
});
