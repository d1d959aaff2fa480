import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { handleTimerBatch } from '../../lib/handlers/timer.js';
import { retryDelaySeconds } from '../../lib/handlers/timer-backoff.js';
import {
  LOCAL_MAX_DELIVERIES,
  LOCAL_MAX_RECEIVES,
  LOCAL_VISIBILITY_TIMEOUT_MS,
  LocalTimerQueue,
} from '../../lib/local/local-timer-queue.js';
import type { RequeueDeps } from '../../lib/ports/coordinator.js';
import { ungroupedLeases } from '../../lib/ports/lease-key.js';
import { InMemoryTable } from '../helpers/in-memory-store.js';

const KEY = { scope: 'alpha', namespace: 'kube-system', name: 'kube-scheduler' };

describe('local timer queue (unit: fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A queue firing on the (fake) wall clock from 1,000, and the deadlines it delivered. */
  function onWallClock() {
    vi.useFakeTimers({ now: 1_000 });
    const delivered: number[] = [];
    const queue = new LocalTimerQueue(async (event: SQSEvent) => {
      for (const record of event.Records)
        delivered.push((JSON.parse(record.body) as { dueAt: number }).dueAt);
    }, true);
    return { delivered, queue };
  }

  it('on the wall clock, delivers a timer once at its time, or once early through fireDue', async () => {
    const { delivered, queue } = onWallClock();
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

  it('runs no more deliveries at once than the deployed mapping does; the rest wait their turn, none lost', async () => {
    vi.useFakeTimers({ now: 1_000 });
    let running = 0;
    let most = 0;
    const delivered: string[] = [];
    const gates: (() => void)[] = [];
    const queue = new LocalTimerQueue(async (event: SQSEvent) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => gates.push(resolve));
      for (const record of event.Records)
        delivered.push((JSON.parse(record.body) as { lease: { name: string } }).lease.name);
      running -= 1;
    }, true);
    // A burst: every candidate registered in one minute comes due for its refresh in the same minute.
    const burst = LOCAL_MAX_DELIVERIES * 3;
    for (let i = 0; i < burst; i++) await queue.deliverAt({ ...KEY, name: `lease-${i}` }, 2_000, 1_000);

    await vi.advanceTimersByTimeAsync(1_000);
    expect(running).toBe(LOCAL_MAX_DELIVERIES);
    while (gates.length > 0) {
      for (const release of gates.splice(0)) release();
      await vi.advanceTimersByTimeAsync(1);
    }
    expect(most).toBe(LOCAL_MAX_DELIVERIES);
    expect(new Set(delivered).size).toBe(burst);
    expect(queue.nextDueAt()).toBeUndefined();
  });

  it('waits out a deadline further off than a Node timer can wait (24.8 days), not firing it at once', async () => {
    const { delivered, queue } = onWallClock();
    // About the holder's timer a Lease of leaseDurationSeconds 2,592,000 (30 days) arms.
    const dueAt = 1_000 + 30 * 86_400_000;
    await queue.deliverAt(KEY, dueAt, 1_000);

    await vi.advanceTimersByTimeAsync(29 * 86_400_000);
    expect(delivered).toEqual([]);
    await vi.advanceTimersByTimeAsync(86_400_000);
    expect(delivered).toEqual([dueAt]);
  });
});

/**
 * requeue over an in-memory table whose lease reads fail `failures` times, fed by a local queue:
 * with `auto`, on the (fake) wall clock; without, on a clock `drain` steps to each delivery.
 */
function requeueOnLocalQueue(failures: number, auto = false) {
  let stepped = 1_000;
  const clock = auto ? Date.now : () => stepped;
  let left = failures;
  const errors: unknown[] = [];
  /** When each error was reported, on the queue's clock. */
  const errorsAt: number[] = [];
  const receives: { at: number; receiveCount: string }[] = [];
  const table = new InMemoryTable(clock);
  let deps: RequeueDeps | undefined;
  const queue = new LocalTimerQueue(
    async (event: SQSEvent) => {
      for (const r of event.Records)
        receives.push({ at: clock(), receiveCount: r.attributes.ApproximateReceiveCount });
      return handleTimerBatch(deps as RequeueDeps, event);
    },
    auto,
    (error) => {
      errors.push(error);
      errorsAt.push(clock());
    },
    clock,
  );
  deps = {
    store: table.store(async (request) => {
      if (request === 'loadLease' && left-- > 0) throw new Error('ProvisionedThroughputExceededException');
    }),
    clock,
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    leases: ungroupedLeases,
    timers: queue,
    redelivery: queue,
  };
  /** Steps the clock to each pending delivery and fires it, until none is left. */
  const drain = async () => {
    for (let due = queue.nextDueAt(); due !== undefined; due = queue.nextDueAt()) {
      stepped = due;
      await queue.fireDue(due);
    }
  };
  return { queue, errors, errorsAt, receives, drain };
}

describe('local timer queue: a message requeue failed (unit: in-memory table, a stepped or fake clock)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('comes back when the back-off requeue set ends, and its step is then taken', async () => {
    const { queue, errors, receives, drain } = requeueOnLocalQueue(1);
    await queue.deliverAt(KEY, 2_000, 1_000);
    await drain();
    expect(receives).toEqual([
      { at: 2_000, receiveCount: '1' },
      { at: 2_000 + retryDelaySeconds(1) * 1000, receiveCount: '2' },
    ]);
    expect(queue.stats.deadLettered).toBe(0);
    expect(errors).toEqual([]);
  });

  it('comes back after a growing back-off, and is dead-lettered when the back-off after its fifth receive ends, as deployed', async () => {
    const { queue, errors, errorsAt, receives, drain } = requeueOnLocalQueue(Number.POSITIVE_INFINITY);
    await queue.deliverAt(KEY, 2_000, 1_000);
    await drain();
    const expected = [2_000];
    for (let count = 1; count < LOCAL_MAX_RECEIVES; count++)
      expected.push((expected.at(-1) as number) + retryDelaySeconds(count) * 1000);
    expect(receives.map((r) => r.at)).toEqual(expected);
    expect(receives.map((r) => r.receiveCount)).toEqual(['1', '2', '3', '4', '5']);
    expect(queue.stats.deadLettered).toBe(1);
    expect(String(errors)).toMatch(/dead-lettered after 5 receives/);
    // SQS's redrive acts on the receive after the fifth, not on the fifth failure.
    expect(errorsAt).toEqual([(expected.at(-1) as number) + retryDelaySeconds(LOCAL_MAX_RECEIVES) * 1000]);
    expect(queue.nextDueAt()).toBeUndefined();
  });

  it('comes back after the visibility timeout when the invocation itself failed', async () => {
    const queue = new LocalTimerQueue(
      async () => {
        throw new Error('invocation failed');
      },
      false,
      () => {},
      () => 5_000,
    );
    await queue.deliverAt(KEY, 5_000, 1_000);
    await expect(queue.fireDue(5_000)).rejects.toThrow('invocation failed');
    expect(queue.nextDueAt()).toBe(5_000 + LOCAL_VISIBILITY_TIMEOUT_MS);
  });

  it('counts the visibility timeout from the receive, not from the end of a long invocation, as SQS does', async () => {
    let now = 5_000;
    const queue = new LocalTimerQueue(
      async () => {
        // The invocation runs 20 s (requeue's timeout) before it fails.
        now += 20_000;
        throw new Error('invocation timed out');
      },
      false,
      () => {},
      () => now,
    );
    await queue.deliverAt(KEY, 5_000, 1_000);
    await expect(queue.fireDue(5_000)).rejects.toThrow('invocation timed out');
    expect(queue.nextDueAt()).toBe(5_000 + LOCAL_VISIBILITY_TIMEOUT_MS);
  });

  it('on the wall clock, fires the retry when its back-off ends', async () => {
    vi.useFakeTimers({ now: 1_000 });
    const { queue, receives } = requeueOnLocalQueue(1, true);
    await queue.deliverAt(KEY, 2_000, 1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(receives).toEqual([{ at: 2_000, receiveCount: '1' }]);
    await vi.advanceTimersByTimeAsync(retryDelaySeconds(1) * 1000);
    expect(receives.map((r) => r.receiveCount)).toEqual(['1', '2']);
    expect(receives[1]?.at).toBe(2_000 + retryDelaySeconds(1) * 1000);
    await queue.stop();
  });
});
