import { spawn } from 'node:child_process';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type Exit, launch } from '../../lib/harness/launcher.js';
import { ROOT } from '../helpers/cli-process.js';

/**
 * The harness's launcher (lib/harness/launcher.ts): processes started through a small process of
 * their own, their lines and exits relayed in order, signals passed on, and nothing left running
 * when the process that started them dies.
 */

function node(script: string, stderr: 'lines' | 'ignore' = 'lines') {
  const lines: { line: string; stream: string }[] = [];
  let linesAtExit = -1;
  let sawLine = () => {};
  const firstLine = new Promise<void>((resolve) => {
    sawLine = resolve;
  });
  const launched = launch(process.execPath, ['-e', script], {
    stderr,
    onLine: (line, stream) => {
      lines.push({ line, stream });
      sawLine();
    },
    onExit: () => {
      linesAtExit = lines.length;
    },
  });
  return { launched, lines, firstLine, linesAtExitCount: () => linesAtExit };
}

describe('launcher (unit: real processes, no cluster)', () => {
  it('relays every line in order, each before the exit, and the exit code', async () => {
    const { launched, lines, linesAtExitCount } = node(
      "for (const n of [1, 2, 3]) console.log('line ' + n); console.error('oops'); process.exitCode = 3",
    );
    const exit: Exit = await launched.exited();
    expect(exit).toEqual({ code: 3, signal: null });
    expect(launched.running).toBe(false);
    expect(lines.filter((l) => l.stream === 'stdout').map((l) => l.line)).toEqual([
      'line 1',
      'line 2',
      'line 3',
    ]);
    expect(lines).toContainEqual({ line: 'oops', stream: 'stderr' });
    expect(linesAtExitCount()).toBe(4);
  });

  it("drops stderr when asked to ('ignore')", async () => {
    const { launched, lines } = node("console.error('noise'); console.log('kept')", 'ignore');
    await launched.exited();
    expect(lines).toEqual([{ line: 'kept', stream: 'stdout' }]);
  });

  it('passes a signal on to the process', async () => {
    const { launched, firstLine } = node("console.log('up'); setInterval(() => {}, 1000)");
    await firstLine;
    launched.kill('SIGTERM');
    expect(await launched.exited()).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('reports a command that cannot start as exited, without a code', async () => {
    const launched = launch('/nonexistent/binary', [], { stderr: 'ignore', onLine: () => {} });
    expect(await launched.exited()).toEqual({ code: null, signal: null });
  });

  it('kills what it started when the process that asked for it dies', async () => {
    // The grandchild connects back here: its socket closes when it dies, an event to await.
    const server = createServer();
    const connected = new Promise<Socket>((resolve) => server.once('connection', resolve));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const grandchild = `require('node:net').connect(${port}, '127.0.0.1'); setInterval(() => {}, 1000)`;
    const parentScript = `
      import { launch } from './lib/harness/launcher.ts';
      launch(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stderr: 'ignore', onLine: () => {} });
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', parentScript], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    const socket = await connected;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    parent.kill('SIGKILL');
    await closed;
    server.close();
    expect(socket.destroyed).toBe(true);
  });
});
