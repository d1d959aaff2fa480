import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import type { AsyncInvokeSettings } from './stack-template.js';

const MINUTE_MS = 60_000;
/** Lambda's waits before the first and second retry of a failed asynchronous invocation. */
const RETRY_DELAYS_MS = [60_000, 120_000];

export interface MinuteScheduleOptions {
  readonly rule: string;
  readonly settings: AsyncInvokeSettings;
  /** Invokes the function asynchronously; rejects when the invocation fails. */
  readonly invoke: (event: ScheduledEvent) => Promise<unknown>;
  readonly onError: (error: unknown) => void;
  /** Fire once at start as well (ingest: its watches are wanted now, not in a minute). */
  readonly atStart?: boolean;
  readonly periodMs?: number;
}

/**
 * An EventBridge rule `rate(1 minute)` targeting a function: every tick is an asynchronous
 * invocation with an EventBridge-shaped event, whether or not the last one is still running (a
 * long run overlaps the next in another container); a failed one is retried as the function's
 * async settings allow, unless the event is older than their maximum age by then.
 */
export function everyMinute(options: MinuteScheduleOptions): { stop(): void } {
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const later = (ms: number, run: () => void) => {
    const handle = setTimeout(() => {
      timers.delete(handle);
      if (!stopped) run();
    }, ms);
    timers.add(handle);
  };
  const attempt = (event: ScheduledEvent, retry: number) => {
    options.invoke(event).catch((error: unknown) => {
      options.onError(error);
      const wait = RETRY_DELAYS_MS[retry] ?? MINUTE_MS;
      const ageAtRetryS = (Date.now() + wait - Date.parse(event.time)) / 1000;
      if (
        retry < options.settings.maximumRetryAttempts &&
        ageAtRetryS <= options.settings.maximumEventAgeInSeconds
      ) {
        later(wait, () => attempt(event, retry + 1));
      }
    });
  };
  const tick = () => attempt(scheduledEvent(options.rule), 0);
  const period = options.periodMs ?? MINUTE_MS;
  const interval = setInterval(tick, period);
  if (options.atStart === true) tick();
  return {
    stop: () => {
      stopped = true;
      clearInterval(interval);
      for (const handle of timers) clearTimeout(handle);
    },
  };
}

function scheduledEvent(rule: string): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: 'us-east-1',
    resources: [`arn:aws:events:us-east-1:000000000000:rule/${rule}`],
    detail: {},
  };
}
