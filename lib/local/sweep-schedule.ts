/** The sweep's minute schedule in the local runtimes (the EventBridge rule when deployed). */
export interface SweepSchedule {
  readonly stop: () => void;
  /** Skips the scheduled sweeps until the returned function is called (a sweep under way finishes). */
  readonly hold: () => () => void;
}

/**
 * The sweep every `every` ms (0: never), as deployed: a tick while one runs, or while the schedule
 * is held, is dropped.
 */
export function scheduleSweeps(
  every: number,
  sweep: () => Promise<unknown>,
  reportError: (error: unknown) => void,
): SweepSchedule {
  let holds = 0;
  const hold = () => {
    holds++;
    let released = false;
    return () => {
      if (!released) holds--;
      released = true;
    };
  };
  if (every <= 0) return { stop: () => {}, hold };
  let sweeping = false;
  const schedule = setInterval(() => {
    if (sweeping || holds > 0) return;
    sweeping = true;
    sweep()
      .catch(reportError)
      .finally(() => {
        sweeping = false;
      });
  }, every);
  return { stop: () => clearInterval(schedule), hold };
}
