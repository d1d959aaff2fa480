import { describe, expect, it } from 'vitest';
import type { LeaseObservation } from '../../../lib/ports/store.js';
import { type ContractContext, freshKey, observation } from './context.js';

/** What a cluster's Lease shows, recorded: renewals, releases, other holders, adoption. */
export function observedLeaseCases(t: ContractContext): void {
  describe('observeLease', () => {
    it('records an empty Lease showing a term of ours before any record: no holder, that term (adoption)', async () => {
      const key = freshKey();
      const seen = observation({ holderIdentity: '', shownTerm: 3, highestShownTerm: 5 });
      await t.store.observeLease(key, seen, undefined, t.clock.now);
      expect(await t.lease(key)).toEqual({
        record: {
          holderIdentity: '',
          holderCluster: 'alpha',
          leaseDurationSeconds: 15,
          renewTime: t.clock.now,
          term: 5,
        },
        version: 1,
        observedRenewTime: 1_000,
      });
      await t.expectLeaseItem(key, 'observed', t.clock.now);
    });

    it('gives a holder seen before any record a term above the highest any Lease shows', async () => {
      const key = freshKey();
      const seen = observation({ holderIdentity: 'legacy', shownTerm: 3, highestShownTerm: 5 });
      await t.store.observeLease(key, seen, undefined, t.clock.now);
      expect((await t.lease(key))?.record.term).toBe(6);
    });

    it('records a Lease held before any record (a legacy elector) as a new holding, change "observed"', async () => {
      const key = freshKey();
      const seen = observation({ holderIdentity: 'legacy', renewTime: 777 });
      await t.store.observeLease(key, seen, undefined, t.clock.now);
      expect(await t.lease(key)).toEqual({
        record: {
          holderIdentity: 'legacy',
          holderCluster: 'alpha',
          leaseDurationSeconds: 15,
          renewTime: t.clock.now,
          term: 1,
        },
        version: 1,
        observedRenewTime: 777,
      });
      await t.expectLeaseItem(key, 'observed', t.clock.now);
    });

    it('fails its condition when a record appeared since nothing was read', async () => {
      const key = freshKey();
      const first = await t.seed(key, t.held());
      await t.expectConditionFailed(
        t.store.observeLease(key, observation({ holderIdentity: 'legacy' }), undefined, t.clock.now),
        key,
      );
      expect(await t.lease(key)).toEqual(first);
    });

    it.each([
      ['alpha', 'renewal-local'],
      ['a+b', 'renewal'],
    ])(
      'records the recorded holder renewing (scope %s, change "%s") and ends a deferral',
      async (scope, change) => {
        const key = freshKey(scope);
        const seeded = await t.seed(key, t.held());
        await t.store.deferTakeover(
          key,
          seeded,
          { notBefore: t.clock.now + 1, holderClusterOut: true },
          t.clock.now,
        );
        const read = await t.lease(key);
        const now = t.clock.advance(2_000);
        await t.store.observeLease(
          key,
          observation({ renewTime: 2_000, leaseDurationSeconds: 30 }),
          read,
          now,
        );
        expect(await t.lease(key)).toEqual({
          record: { ...seeded.record, leaseDurationSeconds: 30, renewTime: now },
          version: 3,
          observedRenewTime: 2_000,
        });
        await t.expectLeaseItem(key, change, now);
      },
    );

    it('fails its condition for a renewal not newer than the last one seen', async () => {
      const key = freshKey();
      await t.seed(key, t.held());
      await t.store.observeLease(key, observation({ renewTime: 2_000 }), await t.lease(key), t.clock.now);
      const read = await t.lease(key);
      for (const renewTime of [2_000, 1_999])
        await t.expectConditionFailed(
          t.store.observeLease(key, observation({ renewTime }), read, t.clock.advance(1)),
          key,
        );
      expect(await t.lease(key)).toEqual(read);
    });

    it('records a Lease read as it stands (current) on the version read, whatever its stamp', async () => {
      const key = freshKey();
      await t.seed(key, t.held());
      await t.store.observeLease(key, observation({ renewTime: 2_000 }), await t.lease(key), t.clock.now);
      const read = await t.lease(key);
      const stale = await t.lease(key);
      await t.store.observeLease(
        key,
        observation({ renewTime: 1_500, current: true }),
        read,
        t.clock.advance(1),
      );
      expect(await t.lease(key)).toMatchObject({
        version: (read?.version ?? 0) + 1,
        observedRenewTime: 1_500,
      });
      await t.expectConditionFailed(
        t.store.observeLease(
          key,
          observation({ renewTime: 1_400, current: true }),
          stale,
          t.clock.advance(1),
        ),
        key,
      );
    });

    it('fails its condition for a renewal when the record changed holder since the read', async () => {
      const key = freshKey();
      const read = await t.seed(key, t.held());
      await t.store.writeLease(
        key,
        t.held({ holderIdentity: 'holder-2', term: 2 }),
        read.version,
        t.clock.now,
      );
      const before = await t.lease(key);
      await t.expectConditionFailed(t.store.observeLease(key, observation(), read, t.clock.now), key);
      expect(await t.lease(key)).toEqual(before);
    });

    it('records a release seen in the holder cluster: who released and when, change "release"', async () => {
      const key = freshKey();
      const read = await t.seed(key, t.held());
      const now = t.clock.advance(1_000);
      await t.store.observeLease(key, observation({ holderIdentity: '', renewTime: 3_000 }), read, now);
      expect(await t.lease(key)).toEqual({
        record: {
          ...read.record,
          holderIdentity: '',
          renewTime: now,
          releasedHolder: 'holder-1',
          releasedAt: now,
        },
        version: 2,
        observedRenewTime: 3_000,
      });
      await t.expectLeaseItem(key, 'release', now);
    });

    it('fails its condition for a release when the record changed since the read', async () => {
      const key = freshKey();
      const read = await t.seed(key, t.held());
      await t.store.recordRenewal(
        key,
        { holderIdentity: 'holder-1', expectedHolder: 'holder-1', leaseDurationSeconds: 15 },
        t.clock.now,
      );
      const before = await t.lease(key);
      await t.expectConditionFailed(
        t.store.observeLease(key, observation({ holderIdentity: '' }), read, t.clock.now),
        key,
      );
      expect(await t.lease(key)).toEqual(before);
    });

    it('records another holder that took the Lease as a new holding under a new term', async () => {
      const key = freshKey();
      const read = await t.seed(key, t.held({ preferredHolder: 'c2' }));
      const now = t.clock.advance(1_000);
      await t.store.observeLease(key, observation({ holderIdentity: 'legacy', cluster: 'beta' }), read, now);
      expect(await t.lease(key)).toEqual({
        record: {
          ...read.record,
          holderIdentity: 'legacy',
          holderCluster: 'beta',
          renewTime: now,
          term: 2,
        },
        version: 2,
        observedRenewTime: 1_000,
      });
      await t.expectLeaseItem(key, 'observed', now);
    });

    it('records the holder shown under a term of ours above the record as a holding under that term', async () => {
      const key = freshKey();
      const read = await t.seed(key, t.held());
      await t.store.observeLease(key, observation({ shownTerm: 4 }), read, t.clock.now);
      expect((await t.lease(key))?.record.term).toBe(4);
    });

    it('fails its condition for another holder when the record changed since the read', async () => {
      const key = freshKey();
      const read = await t.seed(key, t.held());
      await t.store.writeLease(key, t.held({ term: 2 }), read.version, t.clock.now);
      const before = await t.lease(key);
      await t.expectConditionFailed(
        t.store.observeLease(key, observation({ holderIdentity: 'legacy' }), read, t.clock.now),
        key,
      );
      expect(await t.lease(key)).toEqual(before);
    });

    it('ends a deferral when another holder took the Lease', async () => {
      const key = freshKey();
      const seeded = await t.seed(key, t.held());
      await t.store.deferTakeover(
        key,
        seeded,
        { notBefore: t.clock.now + 1, holderClusterOut: true },
        t.clock.now,
      );
      const now = t.clock.advance(1_000);
      await t.store.observeLease(key, observation({ holderIdentity: 'legacy' }), await t.lease(key), now);
      expect(await t.lease(key)).toEqual({
        record: { ...seeded.record, holderIdentity: 'legacy', renewTime: now, term: 2 },
        version: 3,
        observedRenewTime: 1_000,
      });
      await t.expectLeaseItem(key, 'observed', now);
    });

    it('fails its condition for an empty Lease over a record that never had a holder: nothing to record', async () => {
      const key = freshKey();
      const read = await t.seed(key, { term: 0, strategy: 'OldestEmulationVersion' });
      await t.expectConditionFailed(
        t.store.observeLease(key, observation({ holderIdentity: '' }), read, t.clock.now),
        key,
      );
      expect(await t.lease(key)).toEqual(read);
    });
  });
  describe('renewObservedLease', () => {
    it('records the holder renewing in its own cluster without a read; returns the lease as stored', async () => {
      const key = freshKey();
      const read = await t.seed(key, t.held());
      await t.store.deferTakeover(
        key,
        read,
        { notBefore: t.clock.now + 1, holderClusterOut: false },
        t.clock.now,
      );
      const now = t.clock.advance(1_000);
      const stored = await t.store.renewObservedLease(
        key,
        observation({ renewTime: 5_000 }),
        'holder-1',
        now,
      );
      expect(stored).toEqual({
        record: { ...read.record, renewTime: now },
        version: 3,
        observedRenewTime: 5_000,
      });
      expect(await t.lease(key)).toEqual(stored);
      await t.expectLeaseItem(key, 'renewal-local', now);
    });

    it.each<[string, Partial<LeaseObservation>, string]>([
      ['another holder is recorded', {}, 'holder-2'],
      ['the holder is recorded in another cluster', { cluster: 'beta' }, 'holder-1'],
      ['the renewal is not newer than the last seen', { renewTime: 5_000 }, 'holder-1'],
    ])('fails its condition when %s; nothing is written', async (_, seen, expectedHolder) => {
      const key = freshKey();
      await t.seed(key, t.held());
      await t.store.renewObservedLease(key, observation({ renewTime: 5_000 }), 'holder-1', t.clock.now);
      const before = await t.lease(key);
      await t.expectConditionFailed(
        t.store.renewObservedLease(
          key,
          observation({ renewTime: 6_000, ...seen }),
          expectedHolder,
          t.clock.now,
        ),
        key,
      );
      expect(await t.lease(key)).toEqual(before);
    });

    it('fails its condition when there is no record', async () => {
      const key = freshKey();
      await t.expectConditionFailed(
        t.store.renewObservedLease(key, observation(), 'holder-1', t.clock.now),
        key,
      );
      expect(await t.lease(key)).toBeUndefined();
    });
  });
}
