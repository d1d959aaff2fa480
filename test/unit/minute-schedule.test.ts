import type { ScheduledEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { everyMinute } from '../../lib/local/packaged/schedule.js';

describe('everyMinute (packaged mode: an EventBridge rate(1 minute) rule and async invocation)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2026-12-03T12:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function schedule(fails: boolean, maximumRetryAttempts: number, maximumEventAgeInSeconds = 21_600) {
    const events: ScheduledEvent[] = [];
    const errors: unknown[] = [];
    const rule = everyMinute({
      rule: 'ingest-rule',
      settings: { maximumRetryAttempts, maximumEventAgeInSeconds },
      invoke: async (event) => {
        events.push(event);
        if (fails) throw new Error('invocation failed');
      },
      onError: (error) => errors.push(error),
    });
    return { events, errors, stop: () => rule.stop() };
  }

  it('invokes once a minute with an EventBridge scheduled event', async () => {
    const { events, stop } = schedule(false, 2);
    await vi.advanceTimersByTimeAsync(120_000);
    stop();
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      time: '2026-12-03T12:01:00Z',
      resources: ['arn:aws:events:us-east-1:000000000000:rule/ingest-rule'],
    });
    expect(events[1]?.id).not.toBe(events[0]?.id);
  });

  it('retries a failed event after a minute, then two, as the async settings allow', async () => {
    const { events, errors, stop } = schedule(true, 2);
    await vi.advanceTimersByTimeAsync(60_000 + 60_000 + 120_000);
    stop();
    const first = events.filter((e) => e.id === events[0]?.id);
    expect(first).toHaveLength(3);
    expect(errors.length).toBe(events.length);
  });

  it('does not retry with maximumRetryAttempts 0 (sweep), nor past the maximum event age', async () => {
    const noRetry = schedule(true, 0);
    await vi.advanceTimersByTimeAsync(60_000 + 60_000);
    noRetry.stop();
    expect(new Set(noRetry.events.map((e) => e.id)).size).toBe(noRetry.events.length);

    const tooOld = schedule(true, 2, 30);
    await vi.advanceTimersByTimeAsync(60_000 + 60_000);
    tooOld.stop();
    expect(new Set(tooOld.events.map((e) => e.id)).size).toBe(tooOld.events.length);
  });
});
