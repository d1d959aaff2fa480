import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LauncherReport, LauncherRequest, StderrTarget } from './launcher-protocol.js';

export type { StderrTarget } from './launcher-protocol.js';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface LaunchOptions {
  readonly stderr: StderrTarget;
  /** Each line the process prints, on stdout (and on stderr when `stderr` is 'lines'). */
  readonly onLine: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Once it has exited, after its last line. */
  readonly onExit?: (exit: Exit) => void;
}

/** A process the launcher started: its exit, and signals sent to it through the launcher. */
export class LaunchedProcess {
  private exit: Exit | undefined;
  private readonly exitWaiters: ((exit: Exit) => void)[] = [];

  constructor(
    private readonly launcher: Launcher,
    readonly id: number,
    readonly options: LaunchOptions,
  ) {}

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Resolves once the process has exited (at once if it has). */
  exited(): Promise<Exit> {
    if (this.exit !== undefined) return Promise.resolve(this.exit);
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.launcher.send({ type: 'kill', id: this.id, signal });
  }

  /** @internal the launcher's report of the exit. */
  ended(exit: Exit): void {
    if (this.exit !== undefined) return;
    this.exit = exit;
    this.options.onExit?.(exit);
    for (const wake of this.exitWaiters.splice(0)) wake(exit);
  }
}

const LAUNCHER_MAIN = fileURLToPath(new URL('./launcher-main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Starts the harness's child processes from a small process of its own. Starting a process forks
 * the one that asks, and a fork takes longer the more memory the asker has: 5–40 ms a process in
 * the bench, which runs the coordinator under test on the same event loop, so every candidate the
 * bench started stalled our coordinator and not the in-tree controller it is measured against.
 * The launcher is small, so its forks are quick, and they stall nothing that is being timed.
 */
class Launcher {
  private readonly child: ChildProcess;
  private readonly processes = new Map<number, LaunchedProcess>();
  private nextId = 1;

  constructor() {
    this.child = fork(LAUNCHER_MAIN, [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (report: LauncherReport) => this.onReport(report));
    this.child.once('exit', () => {
      shared = undefined;
      for (const launched of this.processes.values()) launched.ended({ code: null, signal: 'SIGKILL' });
      this.processes.clear();
    });
    // Neither the launcher nor its channel keeps this process alive while nothing is running.
    this.holdChannel();
  }

  launch(command: string, args: readonly string[], options: LaunchOptions): LaunchedProcess {
    const launched = new LaunchedProcess(this, this.nextId++, options);
    this.processes.set(launched.id, launched);
    this.holdChannel();
    this.send({ type: 'spawn', id: launched.id, command, args, stderr: options.stderr });
    return launched;
  }

  /**
   * A request the launcher can no longer take (it has died; its exit, not yet heard, ends every
   * process it ran) is dropped: without the callback the closed channel's error would be thrown.
   */
  send(request: LauncherRequest): void {
    this.child.send(request, (error) => {
      if (error !== null && error !== undefined && this.child.connected)
        process.stderr.write(`launcher: ${error.message}\n`);
    });
  }

  private onReport(report: LauncherReport): void {
    const launched = this.processes.get(report.id);
    if (launched === undefined) return;
    if (report.type === 'line') {
      launched.options.onLine(report.line, report.stream);
      return;
    }
    if (report.error !== undefined) process.stderr.write(`launcher: ${report.error}\n`);
    this.processes.delete(report.id);
    this.holdChannel();
    launched.ended({ code: report.code, signal: report.signal });
  }

  /**
   * The IPC channel and the launcher's own handle keep this process alive exactly while a launched
   * process runs. The handle too: a launcher that dies closes the channel before its exit is
   * reported, and with the channel alone this process could end there, its waits for those
   * processes' exits never settled, rather than hear that they ended.
   */
  private holdChannel(): void {
    const channel = this.child.channel;
    if (this.processes.size > 0) {
      channel?.ref();
      this.child.ref();
    } else {
      channel?.unref();
      this.child.unref();
    }
  }
}

let shared: Launcher | undefined;

/** Starts `command` through this process's launcher (started on first use). */
export function launch(command: string, args: readonly string[], options: LaunchOptions): LaunchedProcess {
  shared ??= new Launcher();
  return shared.launch(command, args, options);
}
