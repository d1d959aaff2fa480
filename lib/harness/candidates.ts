import { type Exit, type LaunchedProcess, launch } from './launcher.js';

/** One run of the unmodified client-go candidate program, and what its own callbacks reported. */
export class CandidateProcess {
  /** Every interval in which this process led, by its own OnStartedLeading/OnStoppedLeading. */
  readonly intervals: { start: number; end: number }[] = [];
  killedAt: number | undefined;
  /** Its exit, when it exited without being killed or stopped: a crash (say, its /healthz port taken). */
  crashed: Exit | undefined;
  private stopping = false;
  private readonly child: LaunchedProcess;
  private readonly waiters: { wake: () => void; fail: (error: Error) => void }[] = [];

  constructor(
    readonly identity: string,
    binary: string,
    args: readonly string[],
  ) {
    // CANDIDATE_LOGS=dir keeps each process's client-go log for debugging; otherwise it is dropped.
    const logs = process.env.CANDIDATE_LOGS;
    this.child = launch(binary, [...args, `--identity=${identity}`], {
      stderr: logs === undefined ? 'ignore' : { file: `${logs}/${identity}.log` },
      onLine: (line) => this.onLine(line),
      onExit: (exit) => this.onExit(exit),
    });
  }

  get leading(): boolean {
    const last = this.intervals[this.intervals.length - 1];
    return last !== undefined && last.end === Number.POSITIVE_INFINITY;
  }

  private onLine(line: string): void {
    let event: { event: string; at: number };
    try {
      event = JSON.parse(line) as { event: string; at: number };
    } catch {
      return;
    }
    if (event.event === 'started') this.intervals.push({ start: event.at, end: Number.POSITIVE_INFINITY });
    if (event.event === 'stopped') {
      const last = this.intervals[this.intervals.length - 1];
      if (last !== undefined && last.end === Number.POSITIVE_INFINITY) last.end = event.at;
    }
    for (const { wake } of this.waiters.splice(0)) wake();
  }

  /**
   * A process that exits on its own will never report again: whoever waits for its next callback
   * is told, instead of waiting for ever (a trial whose elector died hung the bench).
   */
  private onExit(exit: Exit): void {
    if (this.killedAt !== undefined || this.stopping) return;
    this.crashed = exit;
    for (const { fail } of this.waiters.splice(0)) fail(this.crashError());
  }

  private crashError(): Error {
    return new Error(
      `candidate ${this.identity} exited on its own (code ${this.crashed?.code}, signal ${this.crashed?.signal})`,
    );
  }

  /** Resolves at this process's next callback; rejects once it has exited on its own. */
  nextEvent(): Promise<void> {
    if (this.crashed !== undefined) return Promise.reject(this.crashError());
    return new Promise((wake, fail) => this.waiters.push({ wake, fail }));
  }

  /** SIGKILL: no release, no OnStoppedLeading. The interval ends when the process dies. */
  kill(): number {
    this.killedAt = Date.now();
    const last = this.intervals[this.intervals.length - 1];
    if (last !== undefined && last.end === Number.POSITIVE_INFINITY) last.end = this.killedAt;
    this.child.kill('SIGKILL');
    return this.killedAt;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.child.kill('SIGTERM');
    await this.child.exited();
  }
}

/** What `until` and `overlaps` read of a leader-election process (or a pod standing for one). */
export type Elector = Pick<CandidateProcess, 'identity' | 'intervals' | 'nextEvent'>;

/** Waits, event by event, until `check` holds for the processes. */
export async function until(
  processes: readonly Elector[],
  check: () => boolean,
  rounds = 500,
): Promise<void> {
  for (let round = 0; round < rounds && !check(); round++) {
    await Promise.race(processes.map((p) => p.nextEvent()));
  }
  if (!check()) throw new Error('condition not reached');
}

/** Asserts that no two processes ever led at the same time. Returns the overlapping pairs. */
export function overlaps(processes: readonly Elector[]): string[] {
  const all = processes.flatMap((p) => p.intervals.map((i) => ({ ...i, who: p.identity })));
  const found: string[] = [];
  for (const a of all) {
    for (const b of all) {
      if (a.who < b.who && a.start < b.end && b.start < a.end)
        found.push(`${a.who} [${a.start},${a.end}) overlaps ${b.who} [${b.start},${b.end})`);
    }
  }
  return found;
}
