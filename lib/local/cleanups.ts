/** Runs the cleanups of what was started, last started first, each after the one before has finished. */
export async function runCleanups(cleanups: (() => unknown)[]): Promise<void> {
  for (const cleanup of cleanups.reverse()) await cleanup();
}
