import { mkdirSync, rmSync, statSync } from 'node:fs';

/**
 * A directory lock: two test workers on one machine build (or download) once, not twice. A lock
 * older than `staleAfterMs` (an hour: a cold build's length) is left by a killed process.
 */
export async function withLock(
  path: string,
  work: () => Promise<void>,
  staleAfterMs = 3_600_000,
): Promise<void> {
  for (;;) {
    try {
      mkdirSync(path);
      break;
    } catch {
      const lockedAt = statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - lockedAt > staleAfterMs) rmSync(path, { recursive: true, force: true });
      // Another process is building; look again shortly (waiting on a process we cannot observe otherwise).
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
  try {
    await work();
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}
