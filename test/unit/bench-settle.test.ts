import type { DynamoDBRecord } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { removalSettled, type StreamTap } from '../../bench/settle.js';
import type { LeaseState, StoredCandidate } from '../../lib/ports/store.js';

const KEY = { scope: 'c1', namespace: 'default', name: 'elect-3' };
const RECORD: DynamoDBRecord = { eventName: 'REMOVE' };

function stored(cluster: string, name: string): StoredCandidate {
  return { cluster, name } as StoredCandidate;
}

/**
 * A coordinator's table and stream by hand: `table` is what a read returns, `emit` sends a record to
 * the listeners, and `onDrain` runs inside each drain (what the consumers would have handled).
 */
function fakeTap(onDrain: (drains: number) => void = () => {}) {
  const listeners = new Set<(record: DynamoDBRecord) => void>();
  const state = { table: [] as StoredCandidate[], drains: 0 };
  const tap: StreamTap = {
    onRecord: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    drain: async () => {
      state.drains++;
      onDrain(state.drains);
    },
    loadLease: async (): Promise<LeaseState> => ({ lease: undefined, candidates: state.table }),
  };
  const emit = () => {
    for (const listener of listeners) listener(RECORD);
  };
  return { tap, state, emit, listening: () => listeners.size };
}

/** Lets the waiter's pending continuations run, so it waits for the next record before one is sent. */
const untilWaiting = () => new Promise((resolve) => setImmediate(resolve));

describe('bench: an election trial waits for the previous removal to settle (unit)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits while the table holds the candidate, and returns after the drain that follows its removal', async () => {
    const { tap, state, emit, listening } = fakeTap();
    state.table = [stored('c1', 'elect-3-a'), stored('c1', 'other')];
    let settled = false;
    const waiting = removalSettled(tap, KEY, 'c1', 'elect-3-a').then(() => {
      settled = true;
    });
    await untilWaiting();
    expect(state.drains).toBe(1);
    // Another record (another candidate's removal) only drains and looks again.
    state.table = [stored('c1', 'elect-3-a')];
    emit();
    await untilWaiting();
    expect(state.drains).toBe(2);
    expect(settled).toBe(false);
    state.table = [stored('c2', 'elect-3-a')];
    emit();
    await waiting;
    expect(state.drains).toBe(3);
    expect(listening()).toBe(0);
  });

  it('returns at once when the candidate was never stored (ingest not yet watching when it came and went)', async () => {
    const { tap, state } = fakeTap();
    await removalSettled(tap, KEY, 'c1', 'elect-3-a');
    expect(state.drains).toBe(1);
  });

  it('does not miss a removal stored between its look and its wait', async () => {
    const { tap, state, emit } = fakeTap((n) => {
      // The removal lands while the first drain runs, after the records it read.
      if (n === 1) {
        state.table = [];
        emit();
      }
    });
    state.table = [stored('c1', 'elect-3-a')];
    const original = tap.loadLease;
    let looks = 0;
    tap.loadLease = async (key) => {
      looks++;
      // The first look is answered as the table was before the drain's removal.
      return looks === 1 ? { lease: undefined, candidates: [stored('c1', 'elect-3-a')] } : original(key);
    };
    await removalSettled(tap, KEY, 'c1', 'elect-3-a');
    expect(looks).toBe(2);
  });

  it('drains after a removal stored between its drain and its look, before it returns', async () => {
    const { tap, state, emit } = fakeTap();
    state.table = [stored('c1', 'elect-3-a')];
    const original = tap.loadLease;
    let drainsBeforeRemoval: number | undefined;
    tap.loadLease = async (key) => {
      // Ingest stores the removal just before this read, after any drain so far has read the stream.
      if (drainsBeforeRemoval === undefined) {
        drainsBeforeRemoval = state.drains;
        state.table = [];
        emit();
      }
      return original(key);
    };
    await removalSettled(tap, KEY, 'c1', 'elect-3-a');
    // Its record (and the step it sets off) is handled before the next trial starts.
    expect(state.drains).toBeGreaterThan(drainsBeforeRemoval ?? Number.POSITIVE_INFINITY);
  });

  it('fails, naming the candidate, when the coordinator never stores the removal', async () => {
    vi.useFakeTimers();
    const { tap, state, listening } = fakeTap();
    state.table = [stored('c1', 'elect-3-a')];
    const waiting = removalSettled(tap, KEY, 'c1', 'elect-3-a');
    const failed = expect(waiting).rejects.toThrow(
      'c1/elect-3-a: not settled in 30000 ms (the table still held it from elect-3, or the stream consumers did not finish)',
    );
    await vi.advanceTimersByTimeAsync(30_000);
    await failed;
    expect(listening()).toBe(0);
  });
});
