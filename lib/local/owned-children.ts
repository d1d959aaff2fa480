import type { ChildProcess } from 'node:child_process';

/** Servers this process started (apiservers, etcd, DynamoDB Local) and has not seen exit: each is killed when this process exits. */
const owned = new Set<ChildProcess>();

/** Kills what is left, synchronously, as an `exit` listener must. */
function killOwned(): void {
  for (const child of owned) child.kill('SIGKILL');
}

/**
 * Ties `child` to this process: when this process exits, by returning or by `process.exit` (a
 * signal handler's included), the child is killed, so no apiserver or etcd outlives a stopped bench
 * or test run. A process killed by a signal it does not handle runs no listener, which is why the
 * long-running entry points (the bench, `npm start`) handle SIGINT and SIGTERM by exiting. Their
 * normal stops stay graceful: a child that exits drops out of this set.
 */
export function ownUntilExit(child: ChildProcess): ChildProcess {
  if (child.exitCode !== null || child.signalCode !== null) return child;
  if (owned.size === 0) process.once('exit', killOwned);
  owned.add(child);
  child.once('exit', () => {
    owned.delete(child);
    if (owned.size === 0) process.removeListener('exit', killOwned);
  });
  return child;
}
