import { describe, expect, it } from 'vitest';
import { CANDIDATE_VALID_MS } from '../../../lib/election/timing.js';
import { StaleHeartbeatError } from '../../../lib/errors.js';
import { candidateSortKey } from '../../../lib/store/keys.js';
import { type ContractContext, freshKey, heartbeat, rejection } from './context.js';

/** Candidates: heartbeats stored, pinged, collected and removed. */
export function candidateCases(t: ContractContext): void {
  describe('putHeartbeat', () => {
    it('stores a new candidate: created, live from its own renewTime or now (the earlier), change "spec"', async () => {
      const key = freshKey();
      const sent = t.clock.now - 5_000;
      const result = await t.store.putHeartbeat(
        key,
        'alpha',
        heartbeat('c1', sent, { creationTimestamp: t.clock.now - 60_000, resourceVersion: '7' }),
        t.clock.now,
      );
      expect(result).toEqual({
        created: true,
        candidate: {
          cluster: 'alpha',
          namespace: 'contract',
          name: 'c1',
          leaseName: 'demo',
          apiVersion: 'v1beta1',
          binaryVersion: '1.34.0',
          emulationVersion: '1.33.0',
          strategy: 'OldestEmulationVersion',
          creationTimestamp: t.clock.now - 60_000,
          renewTime: sent,
          sentRenewTime: sent,
          resourceVersion: '7',
        },
      });
      expect((await t.store.loadLease(key)).candidates).toEqual([result.candidate]);
      await t.expectCandidateItem(key, 'c1', 'spec', t.clock.now);
    });

    it('dates a new candidate without a creationTimestamp now, and one sent from the future now', async () => {
      const key = freshKey();
      const { candidate } = await t.store.putHeartbeat(
        key,
        'alpha',
        heartbeat('c1', t.clock.now + 9_000),
        t.clock.now,
      );
      expect(candidate.creationTimestamp).toBe(t.clock.now);
      expect(candidate.renewTime).toBe(t.clock.now);
      expect(candidate.sentRenewTime).toBe(t.clock.now + 9_000);
    });

    it('stores the preferredStrategies of a v1alpha1 candidate', async () => {
      const key = freshKey();
      const { candidate } = await t.store.putHeartbeat(
        key,
        'alpha',
        heartbeat('c1', t.clock.now, {
          apiVersion: 'v1alpha1',
          preferredStrategies: ['OldestEmulationVersion', 'example.com/Other'],
        }),
        t.clock.now,
      );
      expect(candidate.preferredStrategies).toEqual(['OldestEmulationVersion', 'example.com/Other']);
      expect((await t.store.loadLease(key)).candidates).toEqual([candidate]);
    });

    it('renews the same spec in place: not created, live from now, creation kept, change "renew"', async () => {
      const key = freshKey();
      const first = await t.store.putHeartbeat(
        key,
        'alpha',
        heartbeat('c1', t.clock.now, { resourceVersion: '7' }),
        t.clock.now,
      );
      const now = t.clock.advance(10_000);
      const result = await t.store.putHeartbeat(key, 'alpha', heartbeat('c1', now - 1_000), now);
      expect(result).toEqual({
        created: false,
        candidate: { ...first.candidate, renewTime: now, sentRenewTime: now - 1_000 },
      });
      expect((await t.store.loadLease(key)).candidates).toEqual([result.candidate]);
      await t.expectCandidateItem(key, 'c1', 'renew', now);
    });

    it('takes a renewal resourceVersion when it carries one', async () => {
      const key = freshKey();
      await t.store.putHeartbeat(
        key,
        'alpha',
        heartbeat('c1', t.clock.now, { resourceVersion: '7' }),
        t.clock.now,
      );
      const now = t.clock.advance(1_000);
      const { candidate } = await t.store.putHeartbeat(
        key,
        'alpha',
        heartbeat('c1', now, { resourceVersion: '8' }),
        now,
      );
      expect(candidate.resourceVersion).toBe('8');
    });

    it('acknowledges a ping with the next renewal: awaitingAck goes, pingTime stays', async () => {
      const key = freshKey();
      const { candidate } = await t.store.putHeartbeat(
        key,
        'alpha',
        heartbeat('c1', t.clock.now),
        t.clock.now,
      );
      const pingedAt = t.clock.advance(1_000);
      await t.store.pingCandidates(key, [candidate], pingedAt);
      expect((await t.store.loadLease(key)).candidates[0]).toMatchObject({
        awaitingAck: true,
        pingTime: pingedAt,
      });
      const now = t.clock.advance(1_000);
      const renewed = await t.store.putHeartbeat(key, 'alpha', heartbeat('c1', now), now);
      expect(renewed.created).toBe(false);
      expect(renewed.candidate.awaitingAck).toBeUndefined();
      expect(renewed.candidate.pingTime).toBe(pingedAt);
      expect((await t.store.loadLease(key)).candidates).toEqual([renewed.candidate]);
    });

    it.each([
      ['as old as', 0],
      ['older than', -1_000],
    ])(
      'refuses a heartbeat %s the stored one with StaleHeartbeatError carrying it, writing nothing',
      async (_, delta) => {
        const key = freshKey();
        const sent = t.clock.now;
        const { candidate } = await t.store.putHeartbeat(key, 'alpha', heartbeat('c1', sent), t.clock.now);
        const now = t.clock.advance(5_000);
        const error = await rejection(t.store.putHeartbeat(key, 'alpha', heartbeat('c1', sent + delta), now));
        expect(error).toBeInstanceOf(StaleHeartbeatError);
        expect((error as StaleHeartbeatError).stored).toEqual(candidate);
        expect((await t.store.loadLease(key)).candidates).toEqual([candidate]);
      },
    );

    it('refuses a stale heartbeat that also changes the spec, writing nothing', async () => {
      const key = freshKey();
      const { candidate } = await t.store.putHeartbeat(
        key,
        'alpha',
        heartbeat('c1', t.clock.now),
        t.clock.now,
      );
      const error = await rejection(
        t.store.putHeartbeat(
          key,
          'alpha',
          heartbeat('c1', t.clock.now, { emulationVersion: '1.34.0' }),
          t.clock.now,
        ),
      );
      expect(error).toBeInstanceOf(StaleHeartbeatError);
      expect((await t.store.loadLease(key)).candidates).toEqual([candidate]);
    });

    it('replaces the candidate on a spec change: not created, creation kept, ping dropped, change "spec"', async () => {
      const key = freshKey();
      const first = await t.store.putHeartbeat(key, 'alpha', heartbeat('c1', t.clock.now), t.clock.now);
      await t.store.pingCandidates(key, [first.candidate], t.clock.advance(1_000));
      const now = t.clock.advance(1_000);
      const result = await t.store.putHeartbeat(
        key,
        'alpha',
        heartbeat('c1', now, { emulationVersion: '1.34.0' }),
        now,
      );
      expect(result).toEqual({
        created: false,
        candidate: { ...first.candidate, emulationVersion: '1.34.0', renewTime: now, sentRenewTime: now },
      });
      expect((await t.store.loadLease(key)).candidates).toEqual([result.candidate]);
      await t.expectCandidateItem(key, 'c1', 'spec', now);
    });

    it('rewrites a candidate that returns from expiry as a change ("spec"), live from now', async () => {
      const key = freshKey();
      const first = await t.store.putHeartbeat(key, 'alpha', heartbeat('c1', t.clock.now), t.clock.now);
      const now = t.clock.advance(CANDIDATE_VALID_MS + 1);
      const result = await t.store.putHeartbeat(key, 'alpha', heartbeat('c1', now), now);
      expect(result).toEqual({
        created: false,
        candidate: { ...first.candidate, renewTime: now, sentRenewTime: now },
      });
      await t.expectCandidateItem(key, 'c1', 'spec', now);
    });

    it('keeps candidates of the same name in different clusters apart', async () => {
      const key = freshKey('a+b');
      await t.store.putHeartbeat(key, 'a', heartbeat('c1', t.clock.now), t.clock.now);
      await t.store.putHeartbeat(
        key,
        'b',
        heartbeat('c1', t.clock.now, { emulationVersion: '1.32.0' }),
        t.clock.now,
      );
      const { candidates } = await t.store.loadLease(key);
      expect(candidates.map((c) => [c.cluster, c.emulationVersion])).toEqual([
        ['a', '1.33.0'],
        ['b', '1.32.0'],
      ]);
    });
  });
  describe('pingCandidates', () => {
    it('pings the candidates unchanged since the read and returns them; change "ping"', async () => {
      const key = freshKey();
      const a = (await t.store.putHeartbeat(key, 'alpha', heartbeat('a', t.clock.now), t.clock.now))
        .candidate;
      const b = (await t.store.putHeartbeat(key, 'alpha', heartbeat('b', t.clock.now), t.clock.now))
        .candidate;
      const now = t.clock.advance(1_000);
      expect(await t.store.pingCandidates(key, [a, b], now)).toEqual([a, b]);
      const { candidates } = await t.store.loadLease(key);
      expect(candidates).toEqual([
        { ...a, pingTime: now, awaitingAck: true },
        { ...b, pingTime: now, awaitingAck: true },
      ]);
      await t.expectCandidateItem(key, 'a', 'ping', now - 1_000);
    });

    it('pings again a candidate whose last ping is the one read', async () => {
      const key = freshKey();
      const a = (await t.store.putHeartbeat(key, 'alpha', heartbeat('a', t.clock.now), t.clock.now))
        .candidate;
      await t.store.pingCandidates(key, [a], t.clock.advance(1_000));
      const [read] = (await t.store.loadLease(key)).candidates;
      if (read === undefined) throw new Error('candidate not stored');
      const now = t.clock.advance(1_000);
      expect(await t.store.pingCandidates(key, [read], now)).toEqual([read]);
      expect((await t.store.loadLease(key)).candidates[0]?.pingTime).toBe(now);
    });

    it('skips a candidate renewed since the read, one pinged by another since, and one gone', async () => {
      const key = freshKey();
      const renewed = (
        await t.store.putHeartbeat(key, 'alpha', heartbeat('renewed', t.clock.now), t.clock.now)
      ).candidate;
      const pinged = (await t.store.putHeartbeat(key, 'alpha', heartbeat('pinged', t.clock.now), t.clock.now))
        .candidate;
      const fresh = (await t.store.putHeartbeat(key, 'alpha', heartbeat('fresh', t.clock.now), t.clock.now))
        .candidate;
      const gone = { ...fresh, name: 'gone' };
      const firstPing = t.clock.advance(1_000);
      await t.store.putHeartbeat(key, 'alpha', heartbeat('renewed', firstPing), firstPing);
      await t.store.pingCandidates(key, [pinged], firstPing);
      const before = await t.store.loadLease(key);
      const now = t.clock.advance(1_000);
      expect(await t.store.pingCandidates(key, [renewed, pinged, gone, fresh], now)).toEqual([fresh]);
      const after = await t.store.loadLease(key);
      expect(after.candidates.filter((c) => c.name !== 'fresh')).toEqual(
        before.candidates.filter((c) => c.name !== 'fresh'),
      );
    });

    it('returns an empty list for no candidates', async () => {
      expect(await t.store.pingCandidates(freshKey(), [], t.clock.now)).toEqual([]);
    });
  });
  describe('deleteCandidates', () => {
    it('deletes only candidates still as read (still expired); a missing one is no error', async () => {
      const key = freshKey();
      const expired = (
        await t.store.putHeartbeat(key, 'alpha', heartbeat('expired', t.clock.now), t.clock.now)
      ).candidate;
      const back = (await t.store.putHeartbeat(key, 'alpha', heartbeat('back', t.clock.now), t.clock.now))
        .candidate;
      const now = t.clock.advance(CANDIDATE_VALID_MS + 1);
      const returned = await t.store.putHeartbeat(key, 'alpha', heartbeat('back', now), now);
      // Each delete stands on its own: the ones whose condition failed are left out of the result.
      expect(
        await t.store.deleteCandidates(key, [expired, back, { ...expired, name: 'never-stored' }]),
      ).toEqual([expired]);
      expect((await t.store.loadLease(key)).candidates).toEqual([returned.candidate]);
    });
  });
  describe('removeCandidate', () => {
    it('removes a candidate whose stored renewTime is not newer than the deleted object showed', async () => {
      const key = freshKey();
      const sent = t.clock.now;
      await t.store.putHeartbeat(key, 'alpha', heartbeat('a', sent), t.clock.now);
      await t.store.putHeartbeat(key, 'alpha', heartbeat('b', sent), t.clock.now);
      await t.store.removeCandidate(key, 'alpha', 'a', sent);
      await t.store.removeCandidate(key, 'alpha', 'b', sent + 1);
      expect((await t.store.loadLease(key)).candidates).toEqual([]);
    });

    it('keeps a candidate that renewed since, failing its condition, as for a missing one', async () => {
      const key = freshKey();
      const { candidate } = await t.store.putHeartbeat(
        key,
        'alpha',
        heartbeat('a', t.clock.now),
        t.clock.now,
      );
      await t.expectConditionFailed(
        t.store.removeCandidate(key, 'alpha', 'a', t.clock.now - 1),
        key,
        candidateSortKey('alpha', 'a'),
      );
      await t.expectConditionFailed(
        t.store.removeCandidate(key, 'alpha', 'missing', t.clock.now),
        key,
        candidateSortKey('alpha', 'missing'),
      );
      expect((await t.store.loadLease(key)).candidates).toEqual([candidate]);
    });
  });
}
