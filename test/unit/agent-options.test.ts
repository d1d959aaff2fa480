import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseAgentOptions, type RawFlags } from '../../lib/agent/options.js';
import { ConfigError } from '../../lib/errors.js';
import { finished, ROOT } from '../helpers/cli-process.js';

/** Every agent flag is checked before the agent talks to a cluster, with a message naming the flag. */

const GOOD: RawFlags = {
  namespace: 'default',
  lease: 'demo',
  identity: 'elector-0_abc',
  binaryVersion: '1.31.0',
  emulationVersion: '1.30.0',
  strategy: 'OldestEmulationVersion',
  renewPeriod: '300',
  api: 'auto',
};

function problem(flags: Partial<RawFlags>): string {
  try {
    parseAgentOptions({ ...GOOD, ...flags });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('agent flags', () => {
  it('accepts a good set and turns it into options', () => {
    const options = parseAgentOptions({ ...GOOD, healthUrl: 'http://127.0.0.1:8080/healthz', context: 'c' });
    expect(options).toEqual({
      candidate: {
        namespace: 'default',
        identity: 'elector-0_abc',
        leaseName: 'demo',
        binaryVersion: '1.31.0',
        emulationVersion: '1.30.0',
        strategy: 'OldestEmulationVersion',
      },
      context: 'c',
      healthUrl: new URL('http://127.0.0.1:8080/healthz'),
      renewPeriodMs: 300_000,
      api: 'auto',
    });
  });

  it.each([
    [{ namespace: 'Not_A_Label' }, '--namespace must be a lowercase RFC 1123 label'],
    [{ lease: 'UPPER' }, '--lease must be a lowercase RFC 1123 subdomain'],
    [{ identity: 'a/b' }, '--identity must be at most 253 characters'],
    [{ binaryVersion: 'v1.31.0' }, '--binary-version must be a semantic version'],
    [{ binaryVersion: '' }, '--binary-version required'],
    [{ emulationVersion: '1.30' }, '--emulation-version must be a semantic version'],
    [
      { emulationVersion: '1.32.0' },
      '--binary-version must be greater than or equal to --emulation-version (1.32.0)',
    ],
    [{ emulationVersion: '' }, '--emulation-version required when strategy is OldestEmulationVersion'],
    [{ strategy: 'Newest' }, '--strategy unsupported strategy "Newest"'],
    [
      { healthUrl: 'localhost:8080/healthz' },
      '--health-url must be an absolute http(s) URL such as http://127.0.0.1:8080/healthz, not "localhost:8080/healthz"',
    ],
    [{ healthUrl: '127.0.0.1:8080' }, 'not "127.0.0.1:8080"'],
    [{ healthUrl: 'tcp://127.0.0.1:8080' }, 'not "tcp://127.0.0.1:8080"'],
    [{ healthUrl: '/healthz' }, '--health-url must be an absolute http(s) URL'],
    [{ emulationVersion: 'v1.34' }, '--emulation-version must be a semantic version'],
    [{ renewPeriod: '0' }, '--renew-period must be a whole number of seconds from 1 to 600'],
    [{ renewPeriod: '601' }, '--renew-period'],
    [{ renewPeriod: '1.5' }, '--renew-period'],
    [{ api: 'both' }, '--api must be one of auto, builtin, crd'],
    [{ kubeconfig: '' }, '--kubeconfig must not be empty'],
    [{ context: '' }, '--context must not be empty'],
  ] as [Partial<RawFlags>, string][])('rejects %j naming the flag', (flags, message) => {
    expect(problem(flags)).toContain(message);
  });

  it('says only what is wrong with a malformed --emulation-version, not that it is missing', () => {
    expect(problem({ emulationVersion: 'v1.34' })).not.toContain('required');
  });

  it('names every bad flag at once', () => {
    const message = problem({ namespace: 'X', lease: 'Y' });
    expect(message).toContain('--namespace');
    expect(message).toContain('--lease');
  });
});

/**
 * The command line itself (nothing reaches a cluster: it stops at its flags). A mistyped required
 * flag is named as the unknown option it is, with the flag meant, rather than reported as the
 * required flag missing, which sends the reader looking for a flag they think they gave.
 */
describe('npm run agent (unit: the command line, no cluster)', () => {
  const REQUIRED = [
    '--namespace',
    'default',
    '--lease',
    'demo',
    '--identity',
    'x',
    '--binary-version',
    '1.35.0',
  ];
  const agent = (args: readonly string[]) =>
    finished(spawn(process.execPath, ['--import', 'tsx', 'lib/agent/main.ts', ...args], { cwd: ROOT }));

  it('names a mistyped required flag as unknown, with the one meant, and exits 2', async () => {
    const run = await agent([...REQUIRED, '--emulation-verison', '1.34.0']);
    expect(run.stderr).toContain("unknown option '--emulation-verison'");
    expect(run.stderr).toContain('Did you mean --emulation-version?');
    expect(run.code).toBe(2);
  });

  it('names a required flag that is missing, and exits 2', async () => {
    const run = await agent(REQUIRED);
    expect(run.stderr).toContain('--emulation-version is required');
    expect(run.code).toBe(2);
  });
});
