import { describe, expect, it } from 'vitest';
import { InMemorySqsQueue } from '../../lib/local/in-memory-sqs-queue.js';

const SETTINGS = { visibilityTimeoutMs: 120_000, maxReceiveCount: 3 };

/** A queue holding one message `m`, sent at 1 s with a 2 s delay. */
function queueWithOne() {
  const queue = new InMemorySqsQueue<string>(SETTINGS);
  queue.send('m', 'body', 3_000, 1_000);
  return queue;
}

/** Receives the one message at `now`, failing the test if none comes. */
function receiveOne(queue: InMemorySqsQueue<string>, now: number) {
  const { received } = queue.receive(now, 10);
  expect(received).toHaveLength(1);
  return received[0] as (typeof received)[number];
}

describe('the in-memory SQS queue (unit: pure, a stepped clock)', () => {
  it('holds a message for its delay, then hands it out with a receipt handle and a receive count', () => {
    const queue = queueWithOne();
    expect(queue.nextDueAt()).toBe(3_000);
    expect(queue.receive(2_999, 10).received).toEqual([]);
    expect(queue.visibleCount(2_999)).toBe(0);
    expect(queue.visibleCount(3_000)).toBe(1);
    expect(receiveOne(queue, 3_500)).toEqual({
      id: 'm',
      body: 'body',
      receiptHandle: 'm#1',
      receiveCount: 1,
      sentAt: 1_000,
      firstReceivedAt: 3_500,
    });
    // In flight: no receive finds it, and it is nobody's next wake-up until it is released.
    expect(queue.receive(200_000, 10).received).toEqual([]);
    expect(queue.nextDueAt()).toBeUndefined();
  });

  it('takes the earliest visible first, up to the count asked for', () => {
    const queue = new InMemorySqsQueue<string>(SETTINGS);
    queue.send('late', 'late', 2_000, 0);
    queue.send('early', 'early', 1_000, 0);
    queue.send('later', 'later', 3_000, 0);
    expect(queue.receive(5_000, 2).received.map((m) => m.id)).toEqual(['early', 'late']);
    expect(queue.visibleCount(5_000)).toBe(1);
  });

  it('counts the visibility timeout from the receive, not from the release', () => {
    const queue = queueWithOne();
    const { receiptHandle } = receiveOne(queue, 4_000);
    expect(queue.release(receiptHandle)).toBe(true);
    expect(queue.nextDueAt()).toBe(4_000 + SETTINGS.visibilityTimeoutMs);
    expect(queue.receive(4_000 + SETTINGS.visibilityTimeoutMs - 1, 10).received).toEqual([]);
    expect(receiveOne(queue, 4_000 + SETTINGS.visibilityTimeoutMs)).toMatchObject({
      receiptHandle: 'm#2',
      receiveCount: 2,
      firstReceivedAt: 4_000,
    });
  });

  it('brings a released message back when the visibility last changed on its handle ends (the back-off)', () => {
    const queue = queueWithOne();
    const { receiptHandle } = receiveOne(queue, 3_000);
    expect(queue.changeVisibility(receiptHandle, 9_000, 5_000)).toBe(true);
    expect(queue.changeVisibility(receiptHandle, 1_000, 6_000)).toBe(true);
    queue.release(receiptHandle);
    expect(queue.nextDueAt()).toBe(7_000);
    expect(receiveOne(queue, 7_000).receiveCount).toBe(2);
  });

  it('refuses a stale or unknown receipt handle and changes nothing', () => {
    const queue = queueWithOne();
    const first = receiveOne(queue, 3_000).receiptHandle;
    queue.release(first);
    const second = receiveOne(queue, 3_000 + SETTINGS.visibilityTimeoutMs).receiptHandle;
    for (const handle of [first, 'unknown#1']) {
      expect(queue.changeVisibility(handle, 0, 200_000)).toBe(false);
      expect(queue.release(handle)).toBe(false);
      expect(queue.delete(handle)).toBe(false);
    }
    // The current handle still holds the message in flight, with its own visibility.
    expect(queue.receive(300_000, 10).received).toEqual([]);
    expect(queue.release(second)).toBe(true);
    expect(queue.nextDueAt()).toBe(3_000 + 2 * SETTINGS.visibilityTimeoutMs);
  });

  it('refuses a handle once its message is settled: a deleted message is gone', () => {
    const queue = queueWithOne();
    const { receiptHandle } = receiveOne(queue, 3_000);
    expect(queue.delete(receiptHandle)).toBe(true);
    expect(queue.changeVisibility(receiptHandle, 0, 4_000)).toBe(false);
    expect(queue.release(receiptHandle)).toBe(false);
    expect(queue.nextDueAt()).toBeUndefined();
    expect(queue.receive(1_000_000, 10)).toEqual({ received: [], deadLettered: [] });
  });

  it('dead-letters on the receive after the maxReceiveCount-th, when its last back-off ends, not when it fails', () => {
    const queue = queueWithOne();
    let now = 3_000;
    for (let count = 1; count <= SETTINGS.maxReceiveCount; count++) {
      const { receiptHandle, receiveCount } = receiveOne(queue, now);
      expect(receiveCount).toBe(count);
      queue.changeVisibility(receiptHandle, 30_000, now);
      queue.release(receiptHandle);
      now += 30_000;
    }
    // Failed its last receive: still waiting out the back-off, as on SQS.
    expect(queue.nextDueAt()).toBe(now);
    expect(queue.receive(now - 1, 10)).toEqual({ received: [], deadLettered: [] });
    expect(queue.receive(now, 10)).toEqual({
      received: [],
      deadLettered: [{ id: 'm', body: 'body', receiveCount: SETTINGS.maxReceiveCount }],
    });
    expect(queue.nextDueAt()).toBeUndefined();
  });

  it('does not count a dead-lettered message against the receive’s maximum', () => {
    const queue = new InMemorySqsQueue<string>({ ...SETTINGS, maxReceiveCount: 1 });
    queue.send('poison', 'p', 0, 0);
    queue.release(receiveOne(queue, 0).receiptHandle);
    // Due after the poison message, which comes back when its visibility ends.
    queue.send('next', 'n', SETTINGS.visibilityTimeoutMs + 1, 0);
    const { received, deadLettered } = queue.receive(SETTINGS.visibilityTimeoutMs + 1, 1);
    expect(deadLettered.map((m) => m.id)).toEqual(['poison']);
    expect(received.map((m) => m.id)).toEqual(['next']);
  });

  it('leaves an over-received message behind a full receive to the next one, as SQS does', () => {
    const queue = new InMemorySqsQueue<string>({ ...SETTINGS, maxReceiveCount: 1 });
    queue.send('poison', 'p', 0, 0);
    queue.release(receiveOne(queue, 0).receiptHandle);
    queue.send('next', 'n', 0, 0);
    const full = queue.receive(SETTINGS.visibilityTimeoutMs, 1);
    expect(full.received.map((m) => m.id)).toEqual(['next']);
    expect(full.deadLettered).toEqual([]);
    expect(queue.receive(SETTINGS.visibilityTimeoutMs, 1).deadLettered.map((m) => m.id)).toEqual(['poison']);
  });

  it('gives the next due time after a given time, for a wake-up that skips messages already waiting', () => {
    const queue = new InMemorySqsQueue<string>(SETTINGS);
    queue.send('waiting', 'w', 1_000, 0);
    queue.send('soon', 's', 5_000, 0);
    expect(queue.nextDueAt()).toBe(1_000);
    expect(queue.nextDueAt(2_000)).toBe(5_000);
    expect(queue.nextDueAt(5_000)).toBeUndefined();
  });

  it('receives by another time than now when asked (a test firing early), the visibility counted from now', () => {
    const queue = queueWithOne();
    expect(queue.receive(10_000, 10, 2_999).received).toEqual([]);
    const [early] = queue.receive(2_000, 10, 3_000).received;
    expect(early?.firstReceivedAt).toBe(2_000);
    queue.release(early?.receiptHandle ?? '');
    expect(queue.nextDueAt()).toBe(2_000 + SETTINGS.visibilityTimeoutMs);
  });

  it('after clear, holds nothing and brings nothing back that was in flight', () => {
    const queue = queueWithOne();
    queue.send('other', 'o', 50_000, 0);
    const { receiptHandle } = receiveOne(queue, 3_000);
    queue.clear();
    expect(queue.release(receiptHandle)).toBe(false);
    expect(queue.nextDueAt()).toBeUndefined();
  });
});
