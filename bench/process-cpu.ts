import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time a running process (every thread) has used so far, in milliseconds, from Linux's
 * /proc/PID/task/TID/schedstat (its first field is nanoseconds on a CPU). A process's own CPU time
 * hardly moves with the machine's load, where its wall time moves with every other process.
 */
export function processCpuMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`))
    ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
  return ns / 1e6;
}
