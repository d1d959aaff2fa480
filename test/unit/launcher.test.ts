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

/**
 * Runs a parent process that launches a grandchild, SIGKILLs the launcher once the grandchild has
 * printed its parent's pid (the launcher's), runs `afterKill`, and prints the grandchild's exit as
 * it was told. The grandchild's next print then fails on the closed pipe and it exits by itself.
 */
async function killLauncherFromParent(afterKill: string): Promise<{ code: number | null; out: string }> {
  const grandchild = "console.log(process.ppid); setInterval(() => console.log('tick'), 100)";
  const parentScript = `
    import { launch } from './lib/harness/launcher.ts';
    const launched = launch(process.execPath, ['-e', ${JSON.stringify(grandchild)}], {
      stderr: 'ignore',
      onLine: (line) => {
        if (!/^\\d+$/.test(line)) return;
        process.kill(Number(line), 'SIGKILL');
        ${afterKill}
      },
    });
    console.log(JSON.stringify(await launched.exited()));
  `;
  const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', parentScript], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  parent.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => parent.once('close', (c) => resolve(c)));
  return { code, out: out.trim() };
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

  it('runs on with stderr dropped when its stderr file cannot be written, and the launcher lives', async () => {
    // Unfixed, the launcher died of the file's error: the process was reported killed while it ran on.
    const launched = launch(
      process.execPath,
      ['-e', "console.log('up'); setInterval(() => console.log('tick'), 200)"],
      { stderr: { file: '/nonexistent-launcher-test-dir/x.log' }, onLine: () => {} },
    );
    const other = node("console.log('up'); setInterval(() => {}, 1000)");
    await other.firstLine;
    launched.kill('SIGTERM');
    expect(await launched.exited()).toEqual({ code: null, signal: 'SIGTERM' });
    expect(other.launched.running).toBe(true);
    other.launched.kill('SIGTERM');
    expect(await other.launched.exited()).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('reports a spawn that throws as exited, and the launcher lives', async () => {
    const other = node("console.log('up'); setInterval(() => {}, 1000)");
    await other.firstLine;
    const bad = launch(process.execPath, ['-e', 'null\0byte'], { stderr: 'ignore', onLine: () => {} });
    expect(await bad.exited()).toEqual({ code: null, signal: null });
    expect(other.launched.running).toBe(true);
    other.launched.kill('SIGTERM');
    expect(await other.launched.exited()).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('reports the launched processes killed when the launcher dies, and the parent waits for that', async () => {
    expect(await killLauncherFromParent('')).toEqual({ code: 0, out: '{"code":null,"signal":"SIGKILL"}' });
  });

  it('a signal sent while the launcher is dying does not crash the process that sends it', async () => {
    // Between the launcher's channel closing and its exit being heard, the process still shows as
    // running: a signal sent then must not throw an unhandled error (ERR_IPC_CHANNEL_CLOSED).
    const signalOnAndOn =
      "const again = () => { if (launched.running) { launched.kill('SIGTERM'); setImmediate(again); } }; again();";
    expect(await killLauncherFromParent(signalOnAndOn)).toEqual({
      code: 0,
      out: '{"code":null,"signal":"SIGKILL"}',
    });
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
