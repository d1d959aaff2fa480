import { describe, expect, it } from 'vitest';
import type { Millis } from '../../../lib/election/types.js';
import type { LeaseKey } from '../../../lib/ports/lease-key.js';
import type { ScannedLease } from '../../../lib/ports/store.js';
import { partitionKey, TIMER_SK } from '../../../lib/store/keys.js';
import { type ContractContext, freshKey, heartbeat } from './context.js';

/** The lease timer armed and taken back, and the sweep's scan. */
export function timerAndScanCases(t: ContractContext): void {
  describe('armTimer and disarmTimer', () => {
    const timer = async (key: LeaseKey) => (await t.store.loadLease(key)).timerDueAt;

    it('arms a first timer and reports none replaced', async () => {
      const key = freshKey();
      expect(await t.store.armTimer(key, t.clock.now + 5_000, t.clock.now)).toEqual({});
      expect(await timer(key)).toBe(t.clock.now + 5_000);
      expect(await t.subject.item(partitionKey(key), TIMER_SK)).toEqual({
        pk: partitionKey(key),
        sk: TIMER_SK,
        kind: 'timer',
        dueAt: t.clock.now + 5_000,
      });
    });

    it('arms an earlier timer over a pending one and returns the one it replaced', async () => {
      const key = freshKey();
      await t.store.armTimer(key, t.clock.now + 5_000, t.clock.now);
      expect(await t.store.armTimer(key, t.clock.now + 2_000, t.clock.now)).toEqual({
        replaced: t.clock.now + 5_000,
      });
      expect(await timer(key)).toBe(t.clock.now + 2_000);
    });

    it.each([
      ['a later', 9_000],
      ['the same', 5_000],
    ])('fails its condition for %s deadline while one is pending, changing nothing', async (_, due) => {
      const key = freshKey();
      await t.store.armTimer(key, t.clock.now + 5_000, t.clock.now);
      await t.expectConditionFailed(t.store.armTimer(key, t.clock.now + due, t.clock.now), key, TIMER_SK);
      expect(await timer(key)).toBe(t.clock.now + 5_000);
    });

    it('arms over a timer whose deadline has passed and returns it as replaced', async () => {
      const key = freshKey();
      const first = t.clock.now + 5_000;
      await t.store.armTimer(key, first, t.clock.now);
      const now = t.clock.advance(5_000);
      expect(await t.store.armTimer(key, now + 9_000, now)).toEqual({ replaced: first });
      expect(await timer(key)).toBe(now + 9_000);
    });

    it('takes a timer back by putting back the one it replaced while that is pending', async () => {
      const key = freshKey();
      await t.store.armTimer(key, t.clock.now + 5_000, t.clock.now);
      const armed = await t.store.armTimer(key, t.clock.now + 2_000, t.clock.now);
      await expect(
        t.store.disarmTimer(key, t.clock.now + 2_000, armed?.replaced, t.clock.now),
      ).resolves.toBeUndefined();
      expect(await timer(key)).toBe(t.clock.now + 5_000);
    });

    it.each<[string, Millis | undefined]>([
      ['it replaced none', undefined],
      ['the one it replaced is due by now', 0],
    ])('takes a timer back by removing the record when %s', async (_, replacedAt) => {
      const key = freshKey();
      const replaced = replacedAt === undefined ? undefined : t.clock.now + replacedAt;
      await t.store.armTimer(key, t.clock.now + 2_000, t.clock.now);
      await t.store.disarmTimer(key, t.clock.now + 2_000, replaced, t.clock.now);
      expect(await timer(key)).toBeUndefined();
      expect(await t.subject.item(partitionKey(key), TIMER_SK)).toBeUndefined();
      // The record is gone, so the retry of the step arms and sends it again.
      expect(await t.store.armTimer(key, t.clock.now + 2_000, t.clock.now)).toEqual({});
    });

    it('fails its condition, changing nothing, when another step armed a timer since, or none is armed', async () => {
      const key = freshKey();
      await t.store.armTimer(key, t.clock.now + 5_000, t.clock.now);
      await t.expectConditionFailed(
        t.store.disarmTimer(key, t.clock.now + 2_000, undefined, t.clock.now),
        key,
        TIMER_SK,
      );
      await t.expectConditionFailed(
        t.store.disarmTimer(key, t.clock.now + 2_000, t.clock.now + 9_000, t.clock.now),
        key,
        TIMER_SK,
      );
      expect(await timer(key)).toBe(t.clock.now + 5_000);
      const none = freshKey();
      await t.expectConditionFailed(
        t.store.disarmTimer(none, t.clock.now, undefined, t.clock.now),
        none,
        TIMER_SK,
      );
      expect(await timer(none)).toBeUndefined();
    });
  });
  describe('scanLeases', () => {
    it('yields every lease partition once, whole, with its key (pages split partitions)', async () => {
      const solo = freshKey();
      const group = freshKey('a+b');
      const timerOnly = freshKey();
      await t.store.writeLease(solo, t.held(), undefined, t.clock.now);
      for (const name of ['c1', 'c2', 'c3'])
        await t.store.putHeartbeat(solo, 'alpha', heartbeat(name, t.clock.now), t.clock.now);
      await t.store.armTimer(solo, t.clock.now + 1_000, t.clock.now);
      await t.store.putHeartbeat(group, 'a', heartbeat('g1', t.clock.now), t.clock.now);
      await t.store.putHeartbeat(group, 'b', heartbeat('g2', t.clock.now), t.clock.now);
      await t.store.armTimer(timerOnly, t.clock.now + 1_000, t.clock.now);
      const mine = new Set([solo, group, timerOnly].map(partitionKey));
      const seen: ScannedLease[] = [];
      for await (const scanned of t.store.scanLeases())
        if (mine.has(partitionKey(scanned.key))) seen.push(scanned);
      const byPk = (s: ScannedLease) => partitionKey(s.key);
      expect(seen.map(byPk).sort()).toEqual([...mine].sort());
      for (const key of [solo, group, timerOnly]) {
        const scanned = seen.find((s) => byPk(s) === partitionKey(key));
        expect(scanned?.key).toEqual(key);
        expect(scanned?.state).toEqual(await t.store.loadLease(key));
      }
    });
  });
}
