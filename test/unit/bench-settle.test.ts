import type { DynamoDBRecord } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { removalSettled, type StreamTap } from '../../bench/settle.js';

const KEY = { scope: 'c1', namespace: 'default', name: 'elect-3' };
const PK = 'LEASE#c1/default/elect-3';

function removal(sk: string, pk = PK): DynamoDBRecord {
  return { eventName: 'REMOVE', dynamodb: { Keys: { pk: { S: pk }, sk: { S: sk } } } };
}

/** A tap whose test emits records by hand and counts the drains asked of it. */
function fakeTap(onDrain: (drains: number, emit: (r: DynamoDBRecord) => void) => void = () => {}) {
  const listeners = new Set<(record: DynamoDBRecord) => void>();
  const emit = (record: DynamoDBRecord) => {
    for (const listener of listeners) listener(record);
  };
  let drains = 0;
  const tap: StreamTap = {
    onRecord: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    drain: async () => {
      drains++;
      onDrain(drains, emit);
    },
  };
  return { tap, emit, drains: () => drains, listening: () => listeners.size };
}

/** Lets the waiter's pending continuations run, so it listens for the next record before one is sent. */
const untilWaiting = () => new Promise((resolve) => setImmediate(resolve));

describe('bench: an election trial waits for the previous removal to settle (unit)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('returns after the drain that follows the removal, not before it', async () => {
    const { tap, emit, drains, listening } = fakeTap();
    let settled = false;
    const waiting = removalSettled(tap, KEY, 'c1', 'elect-3-a').then(() => {
      settled = true;
    });
    await vi.waitFor(() => expect(drains()).toBe(1));
    await untilWaiting();
    // Another candidate's removal, and the same name's in another lease: each only drains again.
    emit(removal('CANDIDATE#c1#other'));
    await vi.waitFor(() => expect(drains()).toBe(2));
    await untilWaiting();
    emit(removal('CANDIDATE#c1#elect-3-a', 'LEASE#c2/default/elect-3'));
    await vi.waitFor(() => expect(drains()).toBe(3));
    await untilWaiting();
    expect(settled).toBe(false);
    emit(removal('CANDIDATE#c1#elect-3-a'));
    await waiting;
    expect(drains()).toBe(4);
    expect(listening()).toBe(0);
  });

  it('returns when the removal was read during a drain', async () => {
    const { tap, drains } = fakeTap((n, emit) => {
      if (n === 1) emit(removal('CANDIDATE#c1#elect-3-a'));
    });
    await removalSettled(tap, KEY, 'c1', 'elect-3-a');
    expect(drains()).toBe(1);
  });

  it('fails, naming the candidate, when the coordinator never stores the removal', async () => {
    vi.useFakeTimers();
    const { tap, listening } = fakeTap();
    const waiting = removalSettled(tap, KEY, 'c1', 'elect-3-a');
    const failed = expect(waiting).rejects.toThrow(
      'the coordinator did not store the removal of CANDIDATE#c1#elect-3-a in LEASE#c1/default/elect-3',
    );
    await vi.advanceTimersByTimeAsync(30_000);
    await failed;
    expect(listening()).toBe(0);
  });
});
