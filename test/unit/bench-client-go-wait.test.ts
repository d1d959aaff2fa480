import { describe, expect, it } from 'vitest';
import { p99AfterExpiry, pollWaitP99, pollWaitSurvival } from '../../bench/client-go-wait.js';

/**
 * P(wait > w) for tries `a`–`b` ms apart, uniformly, worked out another way: an interval of length x
 * is met with odds x / mean and leaves more than w with odds (x − w) / x, so the survival is the mean
 * of max(0, x − w) over the intervals, divided by their mean (midpoint sums).
 */
function waitSurvival(w: number, a: number, b: number, steps = 20_000): number {
  const mean = (a + b) / 2;
  let excess = 0;
  for (let i = 0; i < steps; i++) excess += Math.max(0, a + ((i + 0.5) / steps) * (b - a) - w);
  return excess / steps / mean;
}

describe('client-go’s wait for its next try', () => {
  it('has its p99 where the wait’s survival is 1%, for tries 500–1100 ms apart (client-go’s jitter of 1.2)', () => {
    const p99 = pollWaitP99(500);
    expect(p99).toBeCloseTo(1002.02, 2);
    expect(waitSurvival(p99, 500, 1100)).toBeCloseTo(0.01, 4);
  });

  it('has its p99 below the shortest interval when the jitter is small', () => {
    const p99 = pollWaitP99(500, 0.01);
    expect(p99).toBeLessThan(500);
    expect(waitSurvival(p99, 500, 505)).toBeCloseTo(0.01, 4);
    expect(pollWaitP99(500, 0)).toBeCloseTo(495, 6);
  });

  it('has a survival that agrees with the one worked out another way, below and above the shortest interval', () => {
    for (const w of [0, 100, 499, 500, 700, 1000, 1099, 1100, 1200])
      expect(pollWaitSurvival(w, 500)).toBeCloseTo(waitSurvival(w, 500, 1100), 4);
  });

  it('refuses a retry period or jitter that is no duration, naming it', () => {
    expect(() => pollWaitP99(0)).toThrow(/retryPeriodMs must be a positive number/);
    expect(() => pollWaitP99(Number.NaN)).toThrow(/retryPeriodMs/);
    expect(() => pollWaitP99(500, -1)).toThrow(/jitterFactor must be 0 or more/);
  });

  it('adds to one run-out its own p99, and to several the p99 of the sum, not the sum of p99s', () => {
    expect(p99AfterExpiry([5_000], 500)).toBeCloseTo(5_000 + pollWaitP99(500), 1);
    const expiries = [4_700, 4_800, 4_900, 5_000];
    const p99 = p99AfterExpiry(expiries, 500);
    const survival = expiries.reduce((sum, e) => sum + waitSurvival(p99 - e, 500, 1100), 0) / expiries.length;
    expect(survival).toBeCloseTo(0.01, 4);
    expect(p99).toBeLessThan(5_000 + pollWaitP99(500));
  });
});
