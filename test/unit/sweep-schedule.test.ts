import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { scheduleSweeps } from '../../lib/local/sweep-schedule.js';

describe("the local runtime's sweep schedule (unit)", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sweeps every period, and skips the ticks while held', async () => {
    const sweep = vi.fn(async () => {});
    const schedule = scheduleSweeps(60_000, sweep, () => {});
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sweep).toHaveBeenCalledTimes(1);
    const release = schedule.hold();
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(sweep).toHaveBeenCalledTimes(1);
    release();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sweep).toHaveBeenCalledTimes(2);
    schedule.stop();
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(sweep).toHaveBeenCalledTimes(2);
  });

  it('holds until every hold is released', async () => {
    const sweep = vi.fn(async () => {});
    const schedule = scheduleSweeps(1_000, sweep, () => {});
    const first = schedule.hold();
    const second = schedule.hold();
    first();
    first();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(sweep).not.toHaveBeenCalled();
    second();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sweep).toHaveBeenCalledTimes(1);
    schedule.stop();
  });

  it('never sweeps on its own with a period of 0', async () => {
    const sweep = vi.fn(async () => {});
    scheduleSweeps(0, sweep, () => {}).hold()();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(sweep).not.toHaveBeenCalled();
  });
});
