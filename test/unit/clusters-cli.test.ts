import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
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
