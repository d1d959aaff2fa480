import type { SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalTimerQueue } from '../../lib/local/local-timer-queue.js';

const KEY = { scope: 'alpha', namespace: 'kube-system', name: 'kube-scheduler' };

describe('local timer queue (unit: fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('on the wall clock, delivers a timer once at its time, or once early through fireDue', async () => {
    vi.useFakeTimers({ now: 1_000 });
    const delivered: number[] = [];
    const queue = new LocalTimerQueue(async (event: SQSEvent) => {
      for (const record of event.Records)
        delivered.push((JSON.parse(record.body) as { dueAt: number }).dueAt);
    }, true);
    await queue.deliverAt(KEY, 6_000, 1_000);
    await queue.deliverAt(KEY, 60_000, 1_000);

    await vi.advanceTimersByTimeAsync(5_000);
    expect(delivered).toEqual([6_000]);

    expect(await queue.fireDue(60_000)).toBe(1);
    expect(delivered).toEqual([6_000, 60_000]);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(delivered).toEqual([6_000, 60_000]);
    expect(queue.nextDueAt()).toBeUndefined();
  });
});
