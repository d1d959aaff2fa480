import { describe, expect, it } from 'vitest';
import { CandidateProcess, until } from '../../lib/harness/candidates.js';

/**
 * The harness's view of a candidate process (lib/harness/candidates.ts): one that exits on its own
 * will never report leading, so whoever waits on it is told, instead of waiting for ever (a bench
 * trial whose elector had died waited without end). A process we kill or stop is not a crash.
 */
describe('CandidateProcess', () => {
  // Node stands in for the client-go program: `--` keeps the harness's --identity out of Node's options.
  const candidate = (identity: string, script: string) =>
    new CandidateProcess(identity, process.execPath, ['-e', script, '--']);

  it('a process that exits on its own fails the wait for it to lead, naming it and its exit', async () => {
    const crashing = candidate('crashes', 'process.exit(3)');
    await expect(until([crashing], () => crashing.leading)).rejects.toThrow(
      'candidate crashes exited on its own (code 3, signal null)',
    );
    expect(crashing.crashed).toEqual({ code: 3, signal: null });
    await expect(crashing.nextEvent()).rejects.toThrow('exited on its own');
  });

  it('a process that reports leading is seen leading; one we stop is not a crash', async () => {
    const leader = candidate(
      'leads',
      "console.log(JSON.stringify({ event: 'started', at: Date.now() })); setInterval(() => {}, 1000)",
    );
    await until([leader], () => leader.leading);
    expect(leader.intervals).toHaveLength(1);
    await leader.stop();
    expect(leader.crashed).toBeUndefined();
  });

  it('a process we kill is not a crash', async () => {
    const killed = candidate('killed', 'setInterval(() => {}, 1000)');
    killed.kill();
    await killed.stop();
    expect(killed.crashed).toBeUndefined();
    expect(killed.killedAt).toBeTypeOf('number');
  });
});
