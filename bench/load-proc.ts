import { readdirSync, readFileSync } from 'node:fs';

/** Linux /proc readings: the JVM is a child process, so its memory and CPU are only visible here. */

/** The DynamoDB Local JVM: our child whose command is java (DynamoDbLocal does not expose its pid). */
export function findJavaChild(parent = process.pid): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat?.ppid === parent && stat.comm === 'java') return Number(entry);
  }
  return undefined;
}

export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb === undefined ? Number.NaN : Number(kb) * 1024;
}

interface ProcStat {
  readonly comm: string;
  readonly ppid: number;
  /** utime + stime, in clock ticks. */
  readonly cpuTicks: number;
}

export function procStat(pid: number, thread?: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(
      thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`,
      'utf8',
    );
  } catch {
    return undefined;
  }
  // comm is in parentheses and may hold spaces; the fields after the last ')' are fixed.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' ');
  return {
    comm,
    ppid: Number(fields[1]),
    cpuTicks: Number(fields[11]) + Number(fields[12]),
  };
}

/** Busy and total ticks of the whole machine (all cores), from the first line of /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((s, v) => s + v, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/** USER_HZ; 100 on every Linux the project targets. */
export const TICKS_PER_SECOND = 100;
