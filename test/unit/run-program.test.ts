import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runProgram } from '../../lib/cli/run-program.js';
import { CandidateApiNotServedError, ConfigError } from '../../lib/errors.js';

/** The exit status and what is printed for each kind of failure, for every command line of the project. */

function failingWith(error: Error): Command {
  return new Command('t').exitOverride().action(() => {
    throw error;
  });
}

async function run(error: Error): Promise<{ stderr: string; exitCode: typeof process.exitCode }> {
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  await runProgram(failingWith(error), ['node', 't']);
  const exitCode = process.exitCode;
  process.exitCode = undefined;
  return { stderr, exitCode };
}

describe('runProgram (unit)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });

  it('a ConfigError: its message, exit 2', async () => {
    expect(await run(new ConfigError('--lease must be set'))).toEqual({
      stderr: 'error: --lease must be set\n',
      exitCode: 2,
    });
  });

  it('an error raised on purpose (a CoordinatorError): its message without a stack, exit 1', async () => {
    const message =
      'the cluster serves no LeaseCandidate API; apply infra/kubernetes/leasecandidate-crd.yaml';
    expect(await run(new CandidateApiNotServedError(message))).toEqual({
      stderr: `error: ${message}\n`,
      exitCode: 1,
    });
  });

  it('anything else is a bug: with its stack, exit 1', async () => {
    const { stderr, exitCode } = await run(new TypeError('x is undefined'));
    expect(stderr).toMatch(/^error: TypeError: x is undefined\n\s+at /);
    expect(exitCode).toBe(1);
  });
});
