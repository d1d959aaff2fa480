import { describe, expect, it } from 'vitest';
import { LatestPerKeyQueue } from '../../lib/sync/latest-per-key-queue.js';

/** A piece of work that finishes when the test says so. */
function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('LatestPerKeyQueue (unit)', () => {
  it('runs one key in order, skips work replaced while it waited, and runs other keys meanwhile', async () => {
    const done: string[] = [];
    const queue = new LatestPerKeyQueue(4, (error) => {
      throw error;
    });
    const first = gate();
    const started = gate();
    queue.push('a', async () => {
      started.open();
      await first.opened;
      done.push('a1');
    });
    await started.opened;
    queue.push('a', async () => {
      done.push('a2');
    });
    queue.push('a', async () => {
      done.push('a3');
    });
    const bDone = gate();
    queue.push('b', async () => {
      done.push('b1');
      bDone.open();
    });
    // b runs to the end while a's first work is still blocked.
    await bDone.opened;
    expect(done).toEqual(['b1']);
    first.open();
    await queue.idle();
    expect(done.filter((d) => d.startsWith('a'))).toEqual(['a1', 'a3']);
  });

  it('hands a failure to onError and goes on with the next work of the key', async () => {
    const errors: unknown[] = [];
    const done: string[] = [];
    const queue = new LatestPerKeyQueue(1, (error) => errors.push(error));
    const first = gate();
    const started = gate();
    queue.push('a', async () => {
      started.open();
      await first.opened;
      throw new Error('throttled');
    });
    await started.opened;
    queue.push('a', async () => {
      done.push('a2');
    });
    first.open();
    await queue.idle();
    expect(errors).toHaveLength(1);
    expect(done).toEqual(['a2']);
  });
});
