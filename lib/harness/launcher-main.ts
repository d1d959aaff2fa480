/**
 * The launcher: a small process that starts the harness's child processes on its behalf and
 * relays their output and exits over IPC (lib/harness/launcher.ts says why). When its parent goes
 * away it kills what it started, so no candidate outlives the test or bench that began it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { LauncherReport, LauncherRequest } from './launcher-protocol.js';

const children = new Map<number, ChildProcess>();

function report(message: LauncherReport): void {
  process.send?.(message);
}

function start(request: Extract<LauncherRequest, { type: 'spawn' }>): void {
  const stderr = request.stderr === 'ignore' ? 'ignore' : 'pipe';
  let child: ChildProcess;
  try {
    child = spawn(request.command, [...request.args], { stdio: ['ignore', 'pipe', stderr] });
  } catch (error) {
    // Arguments spawn refuses outright (a NUL byte): this process fails, not the launcher.
    report({ type: 'exit', id: request.id, code: null, signal: null, error: (error as Error).message });
    return;
  }
  children.set(request.id, child);
  const relay = (stream: 'stdout' | 'stderr', input: NodeJS.ReadableStream | null) => {
    if (input === null) return;
    createInterface({ input }).on('line', (line) => report({ type: 'line', id: request.id, stream, line }));
  };
  relay('stdout', child.stdout);
  if (request.stderr === 'lines') relay('stderr', child.stderr);
  else if (request.stderr !== 'ignore') toFile(child, request.stderr.file);
  // 'close' comes after the last line of both streams, so the parent sees every line before the exit.
  child.once('close', (code, signal) => {
    children.delete(request.id);
    report({ type: 'exit', id: request.id, code, signal });
  });
  child.once('error', (error) => {
    if (child.pid !== undefined) return;
    children.delete(request.id);
    report({ type: 'exit', id: request.id, code: null, signal: null, error: error.message });
  });
}

/**
 * A process's stderr into a file. A file that cannot be written (its directory missing, say) drops
 * the stderr with a warning: its error unhandled would take down the launcher, leaving every
 * process it started running, unwatched, while the parent is told they were killed.
 */
function toFile(child: ChildProcess, file: string): void {
  const out = createWriteStream(file);
  out.once('error', (error) => {
    process.stderr.write(`launcher: stderr of pid ${child.pid} dropped: ${error.message}\n`);
    child.stderr?.unpipe(out);
    child.stderr?.resume();
  });
  child.stderr?.pipe(out);
}

process.on('message', (request: LauncherRequest) => {
  if (request.type === 'spawn') start(request);
  else children.get(request.id)?.kill(request.signal);
});

process.on('disconnect', () => {
  for (const child of children.values()) child.kill('SIGKILL');
  process.exit(0);
});
