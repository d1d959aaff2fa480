import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemorySqsQueue } from '../../lib/local/in-memory-sqs-queue.js';

/**
 * The in-memory SQS queue keeps its waiting messages in a heap (a local stack holds tens of
 * thousands of timers). This checks it against the plainest reading of its contract: a list
 * scanned and sorted on every call. Messages visible at the same time leave in the order they were
 * put in line (sent, or released after a receive); a receive dead-letters the over-received
 * messages it meets on its way to `max`.
 */

const VISIBILITY_TIMEOUT_MS = 30;

interface ModelMessage {
  readonly id: string;
  visibleAt: number;
  receiveCount: number;
  handle?: string;
  lined: number;
}

class ListQueue {
  private readonly messages: ModelMessage[] = [];
  private lined = 0;

  constructor(private readonly maxReceiveCount: number) {}

  send(id: string, visibleAt: number): void {
    this.messages.push({ id, visibleAt, receiveCount: 0, lined: this.lined++ });
  }

  receive(now: number, max: number, visibleBy: number) {
    const visible = this.messages
      .filter((m) => m.handle === undefined && m.visibleAt <= visibleBy)
      .sort((a, b) => a.visibleAt - b.visibleAt || a.lined - b.lined);
    const received: string[] = [];
    const deadLettered: string[] = [];
    for (const m of visible) {
      if (received.length === max) break;
      if (m.receiveCount >= this.maxReceiveCount) {
        this.messages.splice(this.messages.indexOf(m), 1);
        deadLettered.push(m.id);
        continue;
      }
      m.receiveCount += 1;
      m.visibleAt = now + VISIBILITY_TIMEOUT_MS;
      m.handle = `${m.id}#${m.receiveCount}`;
      received.push(m.handle);
    }
    return { received, deadLettered };
  }

  changeVisibility(handle: string, afterMs: number, now: number): boolean {
    const m = this.messages.find((x) => x.handle === handle);
    if (m === undefined) return false;
    m.visibleAt = now + afterMs;
    return true;
  }

  release(handle: string): boolean {
    const m = this.messages.find((x) => x.handle === handle);
    if (m === undefined) return false;
    m.handle = undefined;
    m.lined = this.lined++;
    return true;
  }

  delete(handle: string): boolean {
    const m = this.messages.find((x) => x.handle === handle);
    if (m === undefined) return false;
    this.messages.splice(this.messages.indexOf(m), 1);
    return true;
  }

  settle(batch: readonly string[], failed: ReadonlySet<string>): void {
    for (const handle of batch)
      if (failed.has(handle)) this.release(handle);
      else this.delete(handle);
  }

  clear(): void {
    this.messages.length = 0;
  }

  nextDueAt(after: number): number | undefined {
    const times = this.messages
      .filter((m) => m.handle === undefined && m.visibleAt > after)
      .map((m) => m.visibleAt);
    return times.length === 0 ? undefined : Math.min(...times);
  }

  visibleCount(now: number): number {
    return this.messages.filter((m) => m.handle === undefined && m.visibleAt <= now).length;
  }
}

type Step =
  | { kind: 'send'; delay: number }
  | { kind: 'tick'; by: number }
  | { kind: 'receive'; max: number; early: number }
  | { kind: 'changeVisibility' | 'release' | 'delete'; pick: number; afterMs: number }
  | { kind: 'settle'; failedMask: number }
  | { kind: 'clear' }
  | { kind: 'nextDueAt'; lookPast: boolean }
  | { kind: 'visibleCount' };

const step: fc.Arbitrary<Step> = fc.oneof(
  // Few distinct delays, so that many messages come due at the same time and their order shows.
  {
    arbitrary: fc.record({ kind: fc.constant('send' as const), delay: fc.integer({ min: 0, max: 4 }) }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('tick' as const), by: fc.integer({ min: 0, max: 15 }) }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('receive' as const),
      max: fc.integer({ min: 1, max: 4 }),
      early: fc.integer({ min: 0, max: 10 }),
    }),
    weight: 4,
  },
  {
    // Failed receives, again and again, so that the redrive has messages to move.
    arbitrary: fc.record({
      kind: fc.constantFrom('changeVisibility' as const, 'release' as const, 'delete' as const),
      pick: fc.nat(),
      afterMs: fc.integer({ min: 0, max: 20 }),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ kind: fc.constant('settle' as const), failedMask: fc.nat(15) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('clear' as const) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('nextDueAt' as const), lookPast: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('visibleCount' as const) }), weight: 1 },
);

describe('the in-memory SQS queue against a scanned list (property)', () => {
  it('answers every call as the list does, whatever the order of sends, receives and settles', () => {
    fc.assert(
      // One receive before the redrive, or two: with one, every failed receive makes a dead letter.
      fc.property(
        fc.constantFrom(1, 2),
        fc.array(step, { minLength: 20, maxLength: 120, size: 'max' }),
        (maxReceiveCount, steps) => {
          const queue = new InMemorySqsQueue<string>({
            visibilityTimeoutMs: VISIBILITY_TIMEOUT_MS,
            maxReceiveCount,
          });
          const list = new ListQueue(maxReceiveCount);
          let now = 0;
          let sent = 0;
          // Every handle a receive gave out, stale ones included: a call with a stale handle is refused.
          const handles: string[] = [];
          let lastBatch: { id: string; receiptHandle: string }[] = [];
          for (const s of steps) {
            switch (s.kind) {
              case 'send': {
                const id = `m${sent++}`;
                queue.send(id, id, now + s.delay, now);
                list.send(id, now + s.delay);
                break;
              }
              case 'tick':
                now += s.by;
                break;
              case 'receive': {
                const got = queue.receive(now, s.max, now + s.early);
                const expected = list.receive(now, s.max, now + s.early);
                expect(got.received.map((r) => r.receiptHandle)).toEqual(expected.received);
                expect(got.deadLettered.map((d) => d.id)).toEqual(expected.deadLettered);
                handles.push(...expected.received);
                lastBatch = got.received.map(({ id, receiptHandle }) => ({ id, receiptHandle }));
                break;
              }
              case 'settle': {
                // Lambda's poller settling the last batch, the messages the mask picks failed.
                const failed = lastBatch.filter((_, i) => (s.failedMask >> i) & 1);
                queue.settle(lastBatch, new Set(failed.map((m) => m.id)));
                list.settle(
                  lastBatch.map((m) => m.receiptHandle),
                  new Set(failed.map((m) => m.receiptHandle)),
                );
                break;
              }
              case 'clear':
                queue.clear();
                list.clear();
                break;
              case 'changeVisibility':
              case 'release':
              case 'delete': {
                const handle = handles[s.pick % Math.max(handles.length, 1)] ?? 'none';
                const got =
                  s.kind === 'changeVisibility'
                    ? queue.changeVisibility(handle, s.afterMs, now)
                    : queue[s.kind](handle);
                const expected =
                  s.kind === 'changeVisibility'
                    ? list.changeVisibility(handle, s.afterMs, now)
                    : list[s.kind](handle);
                expect(got).toBe(expected);
                break;
              }
              case 'nextDueAt': {
                const after = s.lookPast ? now : Number.NEGATIVE_INFINITY;
                expect(queue.nextDueAt(s.lookPast ? now : undefined)).toBe(list.nextDueAt(after));
                break;
              }
              case 'visibleCount':
                expect(queue.visibleCount(now)).toBe(list.visibleCount(now));
                break;
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
