import { addAbortListener } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/** The longest delay a Node timer waits (2^31 - 1 ms, 24.8 days): one set for longer fires at once. */
export const LONGEST_TIMER_MS = 2 ** 31 - 1;

/**
 * Settles as `work` does, or rejects with the signal's reason as soon as it aborts, at once if it
 * has already: a list of a large or hung cluster is not waited out by a run that is stopping.
 * The work itself runs on to its own end (every apiserver request is bounded by its timeout).
 */
export function untilAborted<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const listener = addAbortListener(signal, () => reject(signal.reason));
    work.then(resolve, reject).finally(() => listener[Symbol.dispose]());
  });
}

/** Waits `ms`, or less if the signal aborts (node's own timer: it removes its abort listener). */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch((error: unknown) => {
    if ((error as Error).name !== 'AbortError') throw error;
  });
}
