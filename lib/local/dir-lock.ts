import lockfile from 'proper-lockfile';

/** How often the holder touches its lock, and how long untouched makes it a killed process's. */
const TOUCH_MS = 5_000;
const STALE_MS = 30_000;
/** How often a waiting process looks again. */
const RETRY_MS = 2_000;

/**
 * A directory lock: two processes on one machine build (or download) once, not twice. The holder
 * touches the lock while it works (proper-lockfile), so a lock left by a killed process (a build
 * interrupted with Ctrl-C) is taken over half a minute later, not after the length of a cold build.
 * A waiting process says once what it waits for.
 */
export async function withLock(
  path: string,
  work: () => Promise<void>,
  log: (line: string) => void = (line) => console.error(line),
): Promise<void> {
  const options = {
    realpath: false,
    lockfilePath: path,
    stale: STALE_MS,
    update: TOUCH_MS,
    // Lost only when this process could not touch it for 30 s (an event loop stalled that long):
    // said, not thrown, since a throw here would come from a timer, outside the work.
    onCompromised: (error: Error) => log(`lock ${path} was taken over: ${error.message}`),
  };
  const release = await lockfile.lock(path, { ...options, retries: 0 }).catch(async (error: unknown) => {
    if ((error as { code?: string }).code !== 'ELOCKED') throw error;
    log(`waiting for another process that holds ${path} (taken over if it stops touching it for 30 s)…`);
    return lockfile.lock(path, {
      ...options,
      retries: { forever: true, minTimeout: RETRY_MS, maxTimeout: RETRY_MS, factor: 1 },
    });
  });
  try {
    await work();
  } finally {
    await release();
  }
}
