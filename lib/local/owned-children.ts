import type { ChildProcess } from 'node:child_process';

/** Servers this process started (apiservers, etcd, DynamoDB Local) and has not seen exit: each is killed when this process exits. */
const owned = new Set<ChildProcess>();

/** Kills what is left, synchronously, as an `exit` listener must. */
function killOwned(): void {
  for (const child of owned) child.kill('SIGKILL');
}

/**
 * Ties `child` to this process: when this process exits through `process.exit` (a signal handler's
 * included) or an uncaught error, the child is killed, so no apiserver, etcd or DynamoDB Local
 * outlives a bench or a coordinator stopped that way. A process killed by a signal it does not
 * handle, or by SIGKILL, runs no listener: the long-running entry points (the bench, `npm start`)
 * handle SIGINT and SIGTERM by exiting, and vitest's workers, which it stops with SIGTERM, rely on
 * their files' own stops. Normal stops stay graceful: a child that exits drops out of this set.
 */
export function ownUntilExit(child: ChildProcess): ChildProcess {
  // Not started (spawn failed: it emits `error`, never `exit`) or already gone: nothing to own.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return child;
  if (owned.size === 0) process.once('exit', killOwned);
  owned.add(child);
  child.once('exit', () => {
    owned.delete(child);
    if (owned.size === 0) process.removeListener('exit', killOwned);
  });
  return child;
}
