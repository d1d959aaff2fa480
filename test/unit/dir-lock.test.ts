import { existsSync, mkdirSync, mkdtempSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withLock } from '../../lib/local/dir-lock.js';

/** The build and download lock (unit: a real directory on disk). */
describe('withLock', () => {
  it('takes over a lock a killed process left behind half a minute ago, and removes it after', async () => {
    const lock = join(mkdtempSync(join(tmpdir(), 'dir-lock-')), '.build-lock');
    // What a build interrupted by SIGKILL leaves: the lock directory, no longer touched.
    mkdirSync(lock);
    const untouchedSince = new Date(Date.now() - 31_000);
    utimesSync(lock, untouchedSince, untouchedSince);
    const lines: string[] = [];
    let ran = false;
    await withLock(
      lock,
      async () => {
        ran = true;
      },
      (line) => lines.push(line),
    );
    expect(ran).toBe(true);
    expect(existsSync(lock)).toBe(false);
    expect(lines).toEqual([]);
  });

  it('makes a second process wait for the first, says so once, and runs the two one after the other', async () => {
    const lock = join(mkdtempSync(join(tmpdir(), 'dir-lock-')), '.build-lock');
    const order: string[] = [];
    const lines: string[] = [];
    let releaseFirst: () => void = () => {};
    let firstStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      firstStarted = resolve;
    });
    const first = withLock(lock, async () => {
      order.push('first start');
      firstStarted();
      await new Promise<void>((resolve) => {
        releaseFirst = resolve;
      });
      order.push('first end');
    });
    await started;
    const second = withLock(
      lock,
      async () => {
        order.push('second');
      },
      (line) => lines.push(line),
    );
    // The second has found the lock held once it says it waits.
    await expect.poll(() => lines.length).toBe(1);
    expect(lines[0]).toContain(`waiting for another process that holds ${lock}`);
    releaseFirst();
    await Promise.all([first, second]);
    expect(order).toEqual(['first start', 'first end', 'second']);
  });
});
