import { describe, expect, it } from 'vitest';
import type { LeaseRecord } from '../../../lib/election/types.js';
import { ConflictError } from '../../../lib/errors.js';
import type { StoredLease } from '../../../lib/ports/store.js';
import { type ContractContext, freshKey, heartbeat, observation, rejection } from './context.js';

/** The lease record: read, decided, amended, renewed over the API, a takeover held off. */
export function leaseCases(t: ContractContext): void {
  describe('loadLease', () => {
    it('reads an empty partition as no lease, no candidates, no timer', async () => {
      expect(await t.store.loadLease(freshKey())).toEqual({ lease: undefined, candidates: [] });
    });

    it('reads the lease, its candidates and its timer, and nothing of another lease', async () => {
      const key = freshKey();
      const other = freshKey();
      const record = t.held();
      await t.store.writeLease(key, record, undefined, t.clock.now);
      const { candidate } = await t.store.putHeartbeat(
        key,
        'alpha',
        heartbeat('c1', t.clock.now),
        t.clock.now,
      );
      await t.store.armTimer(key, t.clock.now + 5_000, t.clock.now);
      await t.store.putHeartbeat(other, 'alpha', heartbeat('other', t.clock.now), t.clock.now);
      expect(await t.store.loadLease(key)).toEqual({
        lease: { record, version: 1 },
        candidates: [candidate],
        timerDueAt: t.clock.now + 5_000,
      });
    });
  });
  describe('writeLease', () => {
    it('creates the record when none was read: version 1, every field kept, change "decision"', async () => {
      const key = freshKey();
      const record = t.held({ preferredHolder: 'c2', releasedHolder: 'old', releasedAt: t.clock.now - 1 });
      await expect(t.store.writeLease(key, record, undefined, t.clock.now)).resolves.toBeUndefined();
      expect(await t.lease(key)).toEqual({ record, version: 1 });
      await t.expectLeaseItem(key, 'decision', t.clock.now);
    });

    it('refuses to create a record someone created first, with ConflictError', async () => {
      const key = freshKey();
      const first = await t.seed(key, t.held());
      const error = await rejection(
        t.store.writeLease(key, t.held({ holderIdentity: 'other' }), undefined, t.clock.now),
      );
      expect(error).toBeInstanceOf(ConflictError);
      await t.expectItemOf(error, key);
      expect(await t.lease(key)).toEqual(first);
    });

    it('replaces the whole record when the version read still stands', async () => {
      const key = freshKey();
      await t.seed(key, t.held({ preferredHolder: 'c2' }));
      const next: LeaseRecord = {
        holderIdentity: 'c2',
        holderCluster: 'alpha',
        leaseDurationSeconds: 15,
        term: 2,
      };
      await t.store.writeLease(key, next, 1, t.clock.advance(1_000));
      expect(await t.lease(key)).toEqual({ record: next, version: 2 });
    });

    it('drops what the replaced record carried beside it (a deferral, the last renewal seen)', async () => {
      const key = freshKey();
      const seeded = await t.seed(key, t.held());
      await t.store.deferTakeover(
        key,
        seeded,
        { notBefore: t.clock.now + 1, holderClusterOut: true },
        t.clock.now,
      );
      await t.store.observeLease(key, observation({ renewTime: 9_000 }), await t.lease(key), t.clock.now);
      const now = t.clock.advance(1_000);
      await t.store.writeLease(key, t.held({ term: 2 }), 3, now);
      expect(await t.lease(key)).toEqual({ record: t.held({ term: 2 }), version: 4 });
      await t.expectLeaseItem(key, 'decision', now);
    });

    it.each([
      ['an older version', 1, 2],
      ['a version not yet written', 5, 1],
    ])(
      'refuses a compare-and-set on %s with ConflictError; nothing is written',
      async (_, expected, writes) => {
        const key = freshKey();
        await t.seed(key, t.held());
        for (let v = 1; v < writes; v++)
          await t.store.writeLease(key, t.held({ term: v + 1 }), v, t.clock.now);
        const before = await t.lease(key);
        const error = await rejection(t.store.writeLease(key, t.held({ term: 9 }), expected, t.clock.now));
        expect(error).toBeInstanceOf(ConflictError);
        await t.expectItemOf(error, key);
        expect(await t.lease(key)).toEqual(before);
      },
    );

    it('refuses a compare-and-set on a record that does not exist', async () => {
      const key = freshKey();
      expect(await rejection(t.store.writeLease(key, t.held(), 1, t.clock.now))).toBeInstanceOf(
        ConflictError,
      );
      expect(await t.lease(key)).toBeUndefined();
    });
  });
  describe('amendLiveLease', () => {
    it('sets preferredHolder and strategy of the holding as read; returns the lease as stored', async () => {
      const key = freshKey();
      const read = await t.seed(key, t.held());
      const now = t.clock.advance(1_000);
      const amended = await t.store.amendLiveLease(
        key,
        read,
        { ...read.record, preferredHolder: 'c2', strategy: 'example.com/Other', renewTime: 0 },
        now,
      );
      expect(amended).toEqual({
        record: { ...read.record, preferredHolder: 'c2', strategy: 'example.com/Other' },
        version: 2,
      });
      expect(await t.lease(key)).toEqual(amended);
      await t.expectLeaseItem(key, 'decision', now);
    });

    it('does not conflict with renewals that landed since the read, and keeps them', async () => {
      const key = freshKey();
      const read = await t.seed(key, t.held());
      const renewedAt = t.clock.advance(2_000);
      await t.store.recordRenewal(
        key,
        { holderIdentity: 'holder-1', expectedHolder: 'holder-1', leaseDurationSeconds: 15 },
        renewedAt,
      );
      const amended = await t.store.amendLiveLease(
        key,
        read,
        { ...read.record, preferredHolder: 'c2' },
        t.clock.advance(1),
      );
      expect(amended.version).toBe(3);
      expect(amended.record).toMatchObject({ preferredHolder: 'c2', renewTime: renewedAt });
      expect(await t.lease(key)).toEqual(amended);
    });

    it('removes a stored preferredHolder when the write names none (a preference taken back), and stores when', async () => {
      const key = freshKey();
      const read = await t.seed(key, t.held({ preferredHolder: 'c2' }));
      const { preferredHolder: _, ...withoutPreferred } = read.record;
      const amended = await t.store.amendLiveLease(
        key,
        read,
        { ...withoutPreferred, strategy: 'example.com/Other', preferenceWithdrawnAt: t.clock.now },
        t.clock.now,
      );
      expect(amended.record).toMatchObject({
        holderIdentity: read.record.holderIdentity,
        strategy: 'example.com/Other',
        preferenceWithdrawnAt: t.clock.now,
      });
      expect(amended.record.preferredHolder).toBeUndefined();
      expect(await t.lease(key)).toEqual(amended);
    });

    it.each<[string, Partial<LeaseRecord>]>([
      ['holder', { holderIdentity: 'holder-2' }],
      ['term', { term: 2 }],
      ['preferredHolder', { preferredHolder: 'c3' }],
      ['strategy', { strategy: 'example.com/Other' }],
    ])('throws ConflictError when the %s changed since the read; nothing is written', async (_, change) => {
      const key = freshKey();
      const read = await t.seed(key, t.held());
      await t.store.writeLease(key, { ...read.record, ...change }, read.version, t.clock.now);
      const before = await t.lease(key);
      const error = await rejection(
        t.store.amendLiveLease(key, read, { ...read.record, preferredHolder: 'c2' }, t.clock.now),
      );
      expect(error).toBeInstanceOf(ConflictError);
      await t.expectItemOf(error, key);
      expect(await t.lease(key)).toEqual(before);
    });

    it('throws ConflictError when the read showed a preferredHolder the record no longer has', async () => {
      const key = freshKey();
      const read = await t.seed(key, t.held({ preferredHolder: 'c2' }));
      const { preferredHolder: _, ...cleared } = read.record;
      await t.store.writeLease(key, cleared, read.version, t.clock.now);
      const error = await rejection(
        t.store.amendLiveLease(key, read, { ...read.record, preferredHolder: 'c3' }, t.clock.now),
      );
      expect(error).toBeInstanceOf(ConflictError);
      await t.expectItemOf(error, key);
    });

    it('throws ConflictError when the record is gone', async () => {
      const key = freshKey();
      const read: StoredLease = { record: t.held(), version: 1 };
      const error = await rejection(
        t.store.amendLiveLease(key, read, { ...read.record, preferredHolder: 'c2' }, t.clock.now),
      );
      expect(error).toBeInstanceOf(ConflictError);
      await t.expectItemOf(error, key);
      expect(await t.lease(key)).toBeUndefined();
    });

    it.each<[string, Partial<LeaseRecord>, Partial<LeaseRecord>]>([
      ['a read without a holder', { holderIdentity: undefined }, {}],
      ['a write without a strategy', {}, { strategy: undefined }],
    ])("rejects %s as the caller's error, not a conflict; nothing is written", async (_, readAs, writeAs) => {
      // Outside the port's terms (a preemption amends a held lease and names the strategy):
      // both stores must refuse it rather than write, and not as a conflict worth a retry.
      const key = freshKey();
      const read = await t.seed(key, t.held(readAs));
      const error = await rejection(
        t.store.amendLiveLease(key, read, { ...read.record, preferredHolder: 'c2', ...writeAs }, t.clock.now),
      );
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(ConflictError);
      expect(await t.lease(key)).toEqual(read);
    });
  });
  describe('recordRenewal', () => {
    it('records the holder renewing on our clock, ends a deferral, change "renewal"', async () => {
      const key = freshKey();
      const read = await t.seed(key, t.held());
      await t.store.deferTakeover(
        key,
        read,
        { notBefore: t.clock.now + 15_000, holderClusterOut: true },
        t.clock.now,
      );
      const now = t.clock.advance(3_000);
      const stored = await t.store.recordRenewal(
        key,
        { holderIdentity: 'holder-1', expectedHolder: 'holder-1', leaseDurationSeconds: 20 },
        now,
      );
      expect(stored).toEqual({
        record: { ...read.record, leaseDurationSeconds: 20, renewTime: now },
        version: 3,
      });
      expect(await t.lease(key)).toEqual(stored);
      await t.expectLeaseItem(key, 'renewal', now);
    });

    it('drops the Lease renewal last seen: the renewTime on record is no longer when it was seen', async () => {
      const key = freshKey();
      await t.seed(key, t.held());
      await t.store.observeLease(key, observation({ renewTime: 2_000 }), await t.lease(key), t.clock.now);
      const stored = await t.store.recordRenewal(
        key,
        { holderIdentity: 'holder-1', expectedHolder: 'holder-1', leaseDurationSeconds: 15 },
        t.clock.advance(1_000),
      );
      expect(stored.observedRenewTime).toBeUndefined();
      expect(await t.lease(key)).toEqual(stored);
    });

    it('records a release (holder "") with who released and when, change "release"', async () => {
      const key = freshKey();
      const read = await t.seed(key, t.held());
      const now = t.clock.advance(3_000);
      const stored = await t.store.recordRenewal(
        key,
        { holderIdentity: '', expectedHolder: 'holder-1', leaseDurationSeconds: 15 },
        now,
      );
      expect(stored).toEqual({
        record: {
          ...read.record,
          holderIdentity: '',
          renewTime: now,
          releasedHolder: 'holder-1',
          releasedAt: now,
        },
        version: 2,
      });
      expect(await t.lease(key)).toEqual(stored);
      await t.expectLeaseItem(key, 'release', now);
    });

    it('throws ConflictError when another holder is recorded; nothing is written', async () => {
      const key = freshKey();
      const read = await t.seed(key, t.held());
      for (const holderIdentity of ['holder-2', '']) {
        const error = await rejection(
          t.store.recordRenewal(
            key,
            { holderIdentity, expectedHolder: 'holder-2', leaseDurationSeconds: 15 },
            t.clock.now,
          ),
        );
        expect(error).toBeInstanceOf(ConflictError);
        await t.expectItemOf(error, key);
      }
      expect(await t.lease(key)).toEqual(read);
    });

    it('throws ConflictError when there is no record', async () => {
      const key = freshKey();
      const error = await rejection(
        t.store.recordRenewal(
          key,
          { holderIdentity: 'h', expectedHolder: 'h', leaseDurationSeconds: 15 },
          t.clock.now,
        ),
      );
      expect(error).toBeInstanceOf(ConflictError);
      await t.expectItemOf(error, key);
      expect(await t.lease(key)).toBeUndefined();
    });
  });
  describe('deferTakeover', () => {
    it('holds a takeover off with the holder cluster out, change "deferred"', async () => {
      const key = freshKey();
      const read = await t.seed(key, t.held());
      const now = t.clock.advance(1_000);
      await t.store.deferTakeover(key, read, { notBefore: now + 15_000, holderClusterOut: true }, now);
      expect(await t.lease(key)).toEqual({
        record: read.record,
        version: 2,
        takeoverNotBefore: now + 15_000,
        holderClusterOut: true,
      });
      await t.expectLeaseItem(key, 'deferred', now);
    });

    it('clears holderClusterOut once the cluster answers, with a new notBefore', async () => {
      const key = freshKey();
      await t.seed(key, t.held());
      await t.store.deferTakeover(
        key,
        (await t.lease(key)) as StoredLease,
        { notBefore: 1, holderClusterOut: true },
        0,
      );
      const read = (await t.lease(key)) as StoredLease;
      const now = t.clock.advance(1_000);
      await t.store.deferTakeover(key, read, { notBefore: now + 15_000, holderClusterOut: false }, now);
      expect(await t.lease(key)).toEqual({
        record: read.record,
        version: 3,
        takeoverNotBefore: now + 15_000,
      });
    });

    it('fails its condition when the record changed since the read, and when it is gone', async () => {
      const key = freshKey();
      const read = await t.seed(key, t.held());
      await t.store.recordRenewal(
        key,
        { holderIdentity: 'holder-1', expectedHolder: 'holder-1', leaseDurationSeconds: 15 },
        t.clock.now,
      );
      const before = await t.lease(key);
      const deferral = { notBefore: t.clock.now + 1, holderClusterOut: true };
      await t.expectConditionFailed(t.store.deferTakeover(key, read, deferral, t.clock.now), key);
      expect(await t.lease(key)).toEqual(before);
      const gone = freshKey();
      await t.expectConditionFailed(t.store.deferTakeover(gone, read, deferral, t.clock.now), gone);
    });
  });
}
