/**
 * When a client-go elector tries again: RetryPeriod after its last try, plus up to this many times it
 * more (wait.JitterUntil's factor in leaderelection.go), drawn uniformly.
 */
export const CLIENT_GO_JITTER_FACTOR = 1.2;

/** The shortest and longest time between two tries, and their mean. */
function tries(retryPeriodMs: number, jitterFactor: number) {
  if (!Number.isFinite(retryPeriodMs) || retryPeriodMs <= 0)
    throw new RangeError(`retryPeriodMs must be a positive number of milliseconds, got ${retryPeriodMs}`);
  if (!Number.isFinite(jitterFactor) || jitterFactor < 0)
    throw new RangeError(`jitterFactor must be 0 or more, got ${jitterFactor}`);
  const [shortest, longest] = [retryPeriodMs, retryPeriodMs * (1 + jitterFactor)];
  return { shortest, longest, mean: (shortest + longest) / 2 };
}

/**
 * P(wait > w): the wait from a moment the tries do not know of (the Lease naming the elector) to its
 * next try. That moment falls in an interval with odds in proportion to its length, so the wait is
 * the interval's residual, with density P(interval > w) / mean: the survival is 1 − w / mean plus a
 * correction below the shortest interval, and (longest − w)² / (2 (longest − shortest) mean) above it.
 */
export function pollWaitSurvival(
  w: number,
  retryPeriodMs: number,
  jitterFactor = CLIENT_GO_JITTER_FACTOR,
): number {
  const { shortest: a, longest: b, mean } = tries(retryPeriodMs, jitterFactor);
  if (w <= 0) return 1;
  if (w >= b) return 0;
  if (w <= a) return (a - w + (b - a) / 2) / mean;
  return (b - w) ** 2 / (2 * (b - a) * mean);
}

/** The wait's p99: where pollWaitSurvival is 1%, above the shortest interval or (little jitter) below it. */
export function pollWaitP99(retryPeriodMs: number, jitterFactor = CLIENT_GO_JITTER_FACTOR): number {
  const { shortest: a, longest: b, mean } = tries(retryPeriodMs, jitterFactor);
  const atShortest = (b - a) / 2 / mean;
  if (atShortest >= 0.01) return b - Math.sqrt(0.01 * 2 * (b - a) * mean);
  return a + (b - a) / 2 - 0.01 * mean;
}

/**
 * The p99 of a lease's run-out plus the wait for the next try: the run-outs as `expiries` measured
 * them, the wait independent of them (the elector's tries do not know when its leader dies). The
 * survival of the sum at t is the mean over the run-outs e of pollWaitSurvival(t − e); its 1% point is
 * found by halving the interval it must lie in.
 */
export function p99AfterExpiry(
  expiries: readonly number[],
  retryPeriodMs: number,
  jitterFactor = CLIENT_GO_JITTER_FACTOR,
): number {
  if (expiries.length === 0) return Number.NaN;
  const { longest } = tries(retryPeriodMs, jitterFactor);
  const survival = (t: number) =>
    expiries.reduce((sum, e) => sum + pollWaitSurvival(t - e, retryPeriodMs, jitterFactor), 0) /
    expiries.length;
  let [low, high] = [Math.min(...expiries), Math.max(...expiries) + longest];
  while (high - low > 0.01) {
    const mid = (low + high) / 2;
    if (survival(mid) > 0.01) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}
