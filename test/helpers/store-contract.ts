import { beforeEach, describe, expect, it } from 'vitest';
import type { LeaseCandidateObject } from '../../lib/api/leasecandidate.js';
import type {
  Clock,
  CoordinatorStore,
  LeaseKey,
  LeaseObservation,
  ScannedLease,
  StoredLease,
} from '../../lib/coordinator/ports.js';
import { CANDIDATE_VALID_MS } from '../../lib/election/timing.js';
import type { LeaseRecord, Millis } from '../../lib/election/types.js';
import { ConflictError, StaleHeartbeatError } from '../../lib/errors.js';
import { candidateTtl, specKeyOf } from '../../lib/store/items.js';
import { candidateSortKey, LEASE_SK, partitionKey, TIMER_SK } from '../../lib/store/keys.js';

/**
 * The CoordinatorStore contract: one set of cases that every store must pass, so the in-memory
 * table the concurrency model races over cannot drift from DynamoDbStore unnoticed. Each case
 * covers a method with its condition met and failed, and the return shape it has (a thrown
 * ConflictError or StaleHeartbeatError, an undefined, a boolean). Cases read back through the
 * port, and the raw item only for `change`, the attribute the stream filters wake on.
 */

/** A store under test, and a raw read of one item (for what the port does not return). */
export interface StoreUnderContract {
  readonly store: CoordinatorStore;
  item(pk: string, sk: string): Promise<Record<string, unknown> | undefined>;
}

/**
 * Opens the store for one case. `clock` is the case's clock (the in-memory table stamps its
 * history with it). A store may be shared by every case: each case uses its own lease keys.
 */
export type OpenStore = (clock: Clock) => Promise<StoreUnderContract>;

/** The case's clock. It starts at the current whole second: DynamoDB Local deletes items whose TTL has passed. */
class CaseClock {
  now: Millis = Math.floor(Date.now() / 1000) * 1000;
  readonly read: Clock = () => this.now;
  advance(ms: Millis): Millis {
    this.now += ms;
    return this.now;
  }
}

let leases = 0;

/** A lease key no other case uses; `scope` "a+b" is a lease group, anything else one cluster. */
function freshKey(scope = 'alpha'): LeaseKey {
  leases += 1;
  return { scope, namespace: 'contract', name: `lease-${process.pid}-${leases}` };
}

function heartbeat(
  name: string,
  renewTime: Millis,
  overrides: Partial<LeaseCandidateObject> = {},
): LeaseCandidateObject & { renewTime: Millis } {
  return {
    apiVersion: 'v1beta1',
    name,
    namespace: 'contract',
    leaseName: 'demo',
    binaryVersion: '1.34.0',
    emulationVersion: '1.33.0',
    strategy: 'OldestEmulationVersion',
    ...overrides,
    renewTime,
  };
}

function observation(overrides: Partial<LeaseObservation> = {}): LeaseObservation {
  return {
    cluster: 'alpha',
    holderIdentity: 'holder-1',
    leaseDurationSeconds: 15,
    renewTime: 1_000,
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

export function storeContract(name: string, open: OpenStore): void {
  describe(`CoordinatorStore contract: ${name}`, () => {
    let clock: CaseClock;
    let store: CoordinatorStore;
    let subject: StoreUnderContract;

    beforeEach(async () => {
      clock = new CaseClock();
      subject = await open(clock.read);
      store = subject.store;
    });

    const lease = async (key: LeaseKey): Promise<StoredLease | undefined> =>
      (await store.loadLease(key)).lease;
    /**
     * The lease item holds what the port reads back and nothing more, with `kind` and `change`
     * (what the stream filters wake on) and when it was written.
     */
    const expectLeaseItem = async (key: LeaseKey, change: string, updatedAt: Millis) => {
      const stored = await lease(key);
      if (stored === undefined) throw new Error('no lease stored');
      const { record, ...state } = stored;
      expect(await subject.item(partitionKey(key), LEASE_SK)).toEqual({
        pk: partitionKey(key),
        sk: LEASE_SK,
        kind: 'lease',
        namespace: key.namespace,
        name: key.name,
        ...record,
        ...state,
        change,
        updatedAt,
      });
    };
    /** The same for a candidate item; its TTL runs from its last heartbeat. */
    const expectCandidateItem = async (key: LeaseKey, name: string, change: string, heartbeatAt: Millis) => {
      const candidate = (await store.loadLease(key)).candidates.find((c) => c.name === name);
      if (candidate === undefined) throw new Error(`no candidate ${name} stored`);
      const { creationTimestamp, renewTime, sentRenewTime, ...fields } = candidate;
      expect(await subject.item(partitionKey(key), candidateSortKey(candidate.cluster, name))).toEqual({
        pk: partitionKey(key),
        sk: candidateSortKey(candidate.cluster, name),
        kind: 'candidate',
        ...fields,
        specKey: specKeyOf(candidate),
        createdAt: creationTimestamp,
        renewTime: sentRenewTime,
        renewedAt: renewTime,
        change,
        expiresAt: candidateTtl(heartbeatAt),
      });
    };
    /** Creates the lease record as a decision would: version 1. */
    const seed = async (key: LeaseKey, record: LeaseRecord): Promise<StoredLease> => {
      await store.writeLease(key, record, undefined, clock.now);
      const stored = await lease(key);
      if (stored === undefined) throw new Error('seeded lease not stored');
      return stored;
    };
    const held = (overrides: Partial<LeaseRecord> = {}): LeaseRecord => ({
      holderIdentity: 'holder-1',
      holderCluster: 'alpha',
      leaseDurationSeconds: 15,
      acquireTime: clock.now,
      renewTime: clock.now,
      leaseTransitions: 0,
      strategy: 'OldestEmulationVersion',
      term: 1,
      ...overrides,
    });

    describe('putHeartbeat', () => {
      it('stores a new candidate: created, live from its own renewTime or now (the earlier), change "spec"', async () => {
        const key = freshKey();
        const sent = clock.now - 5_000;
        const result = await store.putHeartbeat(
          key,
          'alpha',
          heartbeat('c1', sent, { creationTimestamp: clock.now - 60_000, resourceVersion: '7' }),
          clock.now,
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
            creationTimestamp: clock.now - 60_000,
            renewTime: sent,
            sentRenewTime: sent,
            resourceVersion: '7',
          },
        });
        expect((await store.loadLease(key)).candidates).toEqual([result.candidate]);
        await expectCandidateItem(key, 'c1', 'spec', clock.now);
      });

      it('dates a new candidate without a creationTimestamp now, and one sent from the future now', async () => {
        const key = freshKey();
        const { candidate } = await store.putHeartbeat(
          key,
          'alpha',
          heartbeat('c1', clock.now + 9_000),
          clock.now,
        );
        expect(candidate.creationTimestamp).toBe(clock.now);
        expect(candidate.renewTime).toBe(clock.now);
        expect(candidate.sentRenewTime).toBe(clock.now + 9_000);
      });

      it('stores the preferredStrategies of a v1alpha1 candidate', async () => {
        const key = freshKey();
        const { candidate } = await store.putHeartbeat(
          key,
          'alpha',
          heartbeat('c1', clock.now, {
            apiVersion: 'v1alpha1',
            preferredStrategies: ['OldestEmulationVersion', 'example.com/Other'],
          }),
          clock.now,
        );
        expect(candidate.preferredStrategies).toEqual(['OldestEmulationVersion', 'example.com/Other']);
        expect((await store.loadLease(key)).candidates).toEqual([candidate]);
      });

      it('renews the same spec in place: not created, live from now, creation kept, change "renew"', async () => {
        const key = freshKey();
        const first = await store.putHeartbeat(
          key,
          'alpha',
          heartbeat('c1', clock.now, { resourceVersion: '7' }),
          clock.now,
        );
        const now = clock.advance(10_000);
        const result = await store.putHeartbeat(key, 'alpha', heartbeat('c1', now - 1_000), now);
        expect(result).toEqual({
          created: false,
          candidate: { ...first.candidate, renewTime: now, sentRenewTime: now - 1_000 },
        });
        expect((await store.loadLease(key)).candidates).toEqual([result.candidate]);
        await expectCandidateItem(key, 'c1', 'renew', now);
      });

      it('takes a renewal resourceVersion when it carries one', async () => {
        const key = freshKey();
        await store.putHeartbeat(
          key,
          'alpha',
          heartbeat('c1', clock.now, { resourceVersion: '7' }),
          clock.now,
        );
        const now = clock.advance(1_000);
        const { candidate } = await store.putHeartbeat(
          key,
          'alpha',
          heartbeat('c1', now, { resourceVersion: '8' }),
          now,
        );
        expect(candidate.resourceVersion).toBe('8');
      });

      it('acknowledges a ping with the next renewal: awaitingAck goes, pingTime stays', async () => {
        const key = freshKey();
        const { candidate } = await store.putHeartbeat(key, 'alpha', heartbeat('c1', clock.now), clock.now);
        const pingedAt = clock.advance(1_000);
        await store.pingCandidates(key, [candidate], pingedAt);
        expect((await store.loadLease(key)).candidates[0]).toMatchObject({
          awaitingAck: true,
          pingTime: pingedAt,
        });
        const now = clock.advance(1_000);
        const renewed = await store.putHeartbeat(key, 'alpha', heartbeat('c1', now), now);
        expect(renewed.created).toBe(false);
        expect(renewed.candidate.awaitingAck).toBeUndefined();
        expect(renewed.candidate.pingTime).toBe(pingedAt);
        expect((await store.loadLease(key)).candidates).toEqual([renewed.candidate]);
      });

      it.each([
        ['as old as', 0],
        ['older than', -1_000],
      ])(
        'refuses a heartbeat %s the stored one with StaleHeartbeatError carrying it, writing nothing',
        async (_, delta) => {
          const key = freshKey();
          const sent = clock.now;
          const { candidate } = await store.putHeartbeat(key, 'alpha', heartbeat('c1', sent), clock.now);
          const now = clock.advance(5_000);
          const error = await rejection(store.putHeartbeat(key, 'alpha', heartbeat('c1', sent + delta), now));
          expect(error).toBeInstanceOf(StaleHeartbeatError);
          expect((error as StaleHeartbeatError).stored).toEqual(candidate);
          expect((await store.loadLease(key)).candidates).toEqual([candidate]);
        },
      );

      it('refuses a stale heartbeat that also changes the spec, writing nothing', async () => {
        const key = freshKey();
        const { candidate } = await store.putHeartbeat(key, 'alpha', heartbeat('c1', clock.now), clock.now);
        const error = await rejection(
          store.putHeartbeat(
            key,
            'alpha',
            heartbeat('c1', clock.now, { emulationVersion: '1.34.0' }),
            clock.now,
          ),
        );
        expect(error).toBeInstanceOf(StaleHeartbeatError);
        expect((await store.loadLease(key)).candidates).toEqual([candidate]);
      });

      it('replaces the candidate on a spec change: not created, creation kept, ping dropped, change "spec"', async () => {
        const key = freshKey();
        const first = await store.putHeartbeat(key, 'alpha', heartbeat('c1', clock.now), clock.now);
        await store.pingCandidates(key, [first.candidate], clock.advance(1_000));
        const now = clock.advance(1_000);
        const result = await store.putHeartbeat(
          key,
          'alpha',
          heartbeat('c1', now, { emulationVersion: '1.34.0' }),
          now,
        );
        expect(result).toEqual({
          created: false,
          candidate: { ...first.candidate, emulationVersion: '1.34.0', renewTime: now, sentRenewTime: now },
        });
        expect((await store.loadLease(key)).candidates).toEqual([result.candidate]);
        await expectCandidateItem(key, 'c1', 'spec', now);
      });

      it('rewrites a candidate that returns from expiry as a change ("spec"), live from now', async () => {
        const key = freshKey();
        const first = await store.putHeartbeat(key, 'alpha', heartbeat('c1', clock.now), clock.now);
        const now = clock.advance(CANDIDATE_VALID_MS + 1);
        const result = await store.putHeartbeat(key, 'alpha', heartbeat('c1', now), now);
        expect(result).toEqual({
          created: false,
          candidate: { ...first.candidate, renewTime: now, sentRenewTime: now },
        });
        await expectCandidateItem(key, 'c1', 'spec', now);
      });

      it('keeps candidates of the same name in different clusters apart', async () => {
        const key = freshKey('a+b');
        await store.putHeartbeat(key, 'a', heartbeat('c1', clock.now), clock.now);
        await store.putHeartbeat(
          key,
          'b',
          heartbeat('c1', clock.now, { emulationVersion: '1.32.0' }),
          clock.now,
        );
        const { candidates } = await store.loadLease(key);
        expect(candidates.map((c) => [c.cluster, c.emulationVersion])).toEqual([
          ['a', '1.33.0'],
          ['b', '1.32.0'],
        ]);
      });
    });

    describe('loadLease', () => {
      it('reads an empty partition as no lease, no candidates, no timer', async () => {
        expect(await store.loadLease(freshKey())).toEqual({ lease: undefined, candidates: [] });
      });

      it('reads the lease, its candidates and its timer, and nothing of another lease', async () => {
        const key = freshKey();
        const other = freshKey();
        const record = held();
        await store.writeLease(key, record, undefined, clock.now);
        const { candidate } = await store.putHeartbeat(key, 'alpha', heartbeat('c1', clock.now), clock.now);
        await store.armTimer(key, clock.now + 5_000, clock.now);
        await store.putHeartbeat(other, 'alpha', heartbeat('other', clock.now), clock.now);
        expect(await store.loadLease(key)).toEqual({
          lease: { record, version: 1 },
          candidates: [candidate],
          timerDueAt: clock.now + 5_000,
        });
      });
    });

    describe('writeLease', () => {
      it('creates the record when none was read: version 1, every field kept, change "decision"', async () => {
        const key = freshKey();
        const record = held({ preferredHolder: 'c2', releasedHolder: 'old', releasedAt: clock.now - 1 });
        await expect(store.writeLease(key, record, undefined, clock.now)).resolves.toBeUndefined();
        expect(await lease(key)).toEqual({ record, version: 1 });
        await expectLeaseItem(key, 'decision', clock.now);
      });

      it('refuses to create a record someone created first, with ConflictError', async () => {
        const key = freshKey();
        const first = await seed(key, held());
        const error = await rejection(
          store.writeLease(key, held({ holderIdentity: 'other' }), undefined, clock.now),
        );
        expect(error).toBeInstanceOf(ConflictError);
        expect(await lease(key)).toEqual(first);
      });

      it('replaces the whole record when the version read still stands', async () => {
        const key = freshKey();
        await seed(key, held({ preferredHolder: 'c2' }));
        const next: LeaseRecord = {
          holderIdentity: 'c2',
          holderCluster: 'alpha',
          leaseDurationSeconds: 15,
          term: 2,
        };
        await store.writeLease(key, next, 1, clock.advance(1_000));
        expect(await lease(key)).toEqual({ record: next, version: 2 });
      });

      it('drops what the replaced record carried beside it (a deferral, the last renewal seen)', async () => {
        const key = freshKey();
        const seeded = await seed(key, held());
        await store.deferTakeover(
          key,
          seeded,
          { notBefore: clock.now + 1, holderClusterOut: true },
          clock.now,
        );
        await store.observeLease(key, observation({ renewTime: 9_000 }), await lease(key), clock.now);
        const now = clock.advance(1_000);
        await store.writeLease(key, held({ term: 2 }), 3, now);
        expect(await lease(key)).toEqual({ record: held({ term: 2 }), version: 4 });
        await expectLeaseItem(key, 'decision', now);
      });

      it.each([
        ['an older version', 1, 2],
        ['a version not yet written', 5, 1],
      ])(
        'refuses a compare-and-set on %s with ConflictError, writing nothing',
        async (_, expected, writes) => {
          const key = freshKey();
          await seed(key, held());
          for (let v = 1; v < writes; v++) await store.writeLease(key, held({ term: v + 1 }), v, clock.now);
          const before = await lease(key);
          const error = await rejection(store.writeLease(key, held({ term: 9 }), expected, clock.now));
          expect(error).toBeInstanceOf(ConflictError);
          expect(await lease(key)).toEqual(before);
        },
      );

      it('refuses a compare-and-set on a record that does not exist', async () => {
        const key = freshKey();
        expect(await rejection(store.writeLease(key, held(), 1, clock.now))).toBeInstanceOf(ConflictError);
        expect(await lease(key)).toBeUndefined();
      });
    });

    describe('amendLiveLease', () => {
      it('sets preferredHolder and strategy of the holding as read; returns the lease as stored', async () => {
        const key = freshKey();
        const read = await seed(key, held());
        const now = clock.advance(1_000);
        const amended = await store.amendLiveLease(
          key,
          read,
          { ...read.record, preferredHolder: 'c2', strategy: 'example.com/Other', renewTime: 0 },
          now,
        );
        expect(amended).toEqual({
          record: { ...read.record, preferredHolder: 'c2', strategy: 'example.com/Other' },
          version: 2,
        });
        expect(await lease(key)).toEqual(amended);
        await expectLeaseItem(key, 'decision', now);
      });

      it('does not conflict with renewals that landed since the read, and keeps them', async () => {
        const key = freshKey();
        const read = await seed(key, held());
        const renewedAt = clock.advance(2_000);
        await store.recordRenewal(
          key,
          { holderIdentity: 'holder-1', expectedHolder: 'holder-1', leaseDurationSeconds: 15 },
          renewedAt,
        );
        const amended = await store.amendLiveLease(
          key,
          read,
          { ...read.record, preferredHolder: 'c2' },
          clock.advance(1),
        );
        expect(amended.version).toBe(3);
        expect(amended.record).toMatchObject({ preferredHolder: 'c2', renewTime: renewedAt });
        expect(await lease(key)).toEqual(amended);
      });

      it('keeps a stored preferredHolder when the write names none (strategy only)', async () => {
        const key = freshKey();
        const read = await seed(key, held({ preferredHolder: 'c2' }));
        const { preferredHolder: _, ...withoutPreferred } = read.record;
        const amended = await store.amendLiveLease(
          key,
          read,
          { ...withoutPreferred, strategy: 'example.com/Other' },
          clock.now,
        );
        expect(amended.record).toMatchObject({ preferredHolder: 'c2', strategy: 'example.com/Other' });
        expect(await lease(key)).toEqual(amended);
      });

      it.each<[string, Partial<LeaseRecord>]>([
        ['holder', { holderIdentity: 'holder-2' }],
        ['term', { term: 2 }],
        ['preferredHolder', { preferredHolder: 'c3' }],
        ['strategy', { strategy: 'example.com/Other' }],
      ])('throws ConflictError when the %s changed since the read, writing nothing', async (_, change) => {
        const key = freshKey();
        const read = await seed(key, held());
        await store.writeLease(key, { ...read.record, ...change }, read.version, clock.now);
        const before = await lease(key);
        const error = await rejection(
          store.amendLiveLease(key, read, { ...read.record, preferredHolder: 'c2' }, clock.now),
        );
        expect(error).toBeInstanceOf(ConflictError);
        expect(await lease(key)).toEqual(before);
      });

      it('throws ConflictError when the read showed a preferredHolder the record no longer has', async () => {
        const key = freshKey();
        const read = await seed(key, held({ preferredHolder: 'c2' }));
        const { preferredHolder: _, ...cleared } = read.record;
        await store.writeLease(key, cleared, read.version, clock.now);
        const error = await rejection(
          store.amendLiveLease(key, read, { ...read.record, preferredHolder: 'c3' }, clock.now),
        );
        expect(error).toBeInstanceOf(ConflictError);
      });

      it('throws ConflictError when the record is gone', async () => {
        const key = freshKey();
        const read: StoredLease = { record: held(), version: 1 };
        const error = await rejection(
          store.amendLiveLease(key, read, { ...read.record, preferredHolder: 'c2' }, clock.now),
        );
        expect(error).toBeInstanceOf(ConflictError);
        expect(await lease(key)).toBeUndefined();
      });

      it.each<[string, Partial<LeaseRecord>, Partial<LeaseRecord>]>([
        ['a read without a holder', { holderIdentity: undefined }, {}],
        ['a write without a strategy', {}, { strategy: undefined }],
      ])("rejects %s as the caller's error, not a conflict, writing nothing", async (_, readAs, writeAs) => {
        // Outside the port's terms (a preemption amends a held lease and names the strategy):
        // both stores must refuse it rather than write, and not as a conflict worth a retry.
        const key = freshKey();
        const read = await seed(key, held(readAs));
        const error = await rejection(
          store.amendLiveLease(key, read, { ...read.record, preferredHolder: 'c2', ...writeAs }, clock.now),
        );
        expect(error).toBeInstanceOf(Error);
        expect(error).not.toBeInstanceOf(ConflictError);
        expect(await lease(key)).toEqual(read);
      });
    });

    describe('pingCandidates', () => {
      it('pings the candidates unchanged since the read and returns them; change "ping"', async () => {
        const key = freshKey();
        const a = (await store.putHeartbeat(key, 'alpha', heartbeat('a', clock.now), clock.now)).candidate;
        const b = (await store.putHeartbeat(key, 'alpha', heartbeat('b', clock.now), clock.now)).candidate;
        const now = clock.advance(1_000);
        expect(await store.pingCandidates(key, [a, b], now)).toEqual([a, b]);
        const { candidates } = await store.loadLease(key);
        expect(candidates).toEqual([
          { ...a, pingTime: now, awaitingAck: true },
          { ...b, pingTime: now, awaitingAck: true },
        ]);
        await expectCandidateItem(key, 'a', 'ping', now - 1_000);
      });

      it('pings again a candidate whose last ping is the one read', async () => {
        const key = freshKey();
        const a = (await store.putHeartbeat(key, 'alpha', heartbeat('a', clock.now), clock.now)).candidate;
        await store.pingCandidates(key, [a], clock.advance(1_000));
        const [read] = (await store.loadLease(key)).candidates;
        if (read === undefined) throw new Error('candidate not stored');
        const now = clock.advance(1_000);
        expect(await store.pingCandidates(key, [read], now)).toEqual([read]);
        expect((await store.loadLease(key)).candidates[0]?.pingTime).toBe(now);
      });

      it('skips a candidate renewed since the read, one pinged by another since, and one gone', async () => {
        const key = freshKey();
        const renewed = (await store.putHeartbeat(key, 'alpha', heartbeat('renewed', clock.now), clock.now))
          .candidate;
        const pinged = (await store.putHeartbeat(key, 'alpha', heartbeat('pinged', clock.now), clock.now))
          .candidate;
        const fresh = (await store.putHeartbeat(key, 'alpha', heartbeat('fresh', clock.now), clock.now))
          .candidate;
        const gone = { ...fresh, name: 'gone' };
        const firstPing = clock.advance(1_000);
        await store.putHeartbeat(key, 'alpha', heartbeat('renewed', firstPing), firstPing);
        await store.pingCandidates(key, [pinged], firstPing);
        const before = await store.loadLease(key);
        const now = clock.advance(1_000);
        expect(await store.pingCandidates(key, [renewed, pinged, gone, fresh], now)).toEqual([fresh]);
        const after = await store.loadLease(key);
        expect(after.candidates.filter((c) => c.name !== 'fresh')).toEqual(
          before.candidates.filter((c) => c.name !== 'fresh'),
        );
      });

      it('returns an empty list for no candidates', async () => {
        expect(await store.pingCandidates(freshKey(), [], clock.now)).toEqual([]);
      });
    });

    describe('deleteCandidates', () => {
      it('deletes only candidates still as read (still expired); a missing one is no error', async () => {
        const key = freshKey();
        const expired = (await store.putHeartbeat(key, 'alpha', heartbeat('expired', clock.now), clock.now))
          .candidate;
        const back = (await store.putHeartbeat(key, 'alpha', heartbeat('back', clock.now), clock.now))
          .candidate;
        const now = clock.advance(CANDIDATE_VALID_MS + 1);
        const returned = await store.putHeartbeat(key, 'alpha', heartbeat('back', now), now);
        await expect(
          store.deleteCandidates(key, [expired, back, { ...expired, name: 'never-stored' }]),
        ).resolves.toBeUndefined();
        expect((await store.loadLease(key)).candidates).toEqual([returned.candidate]);
      });
    });

    describe('removeCandidate', () => {
      it('removes a candidate whose stored renewTime is not newer than the deleted object showed', async () => {
        const key = freshKey();
        const sent = clock.now;
        await store.putHeartbeat(key, 'alpha', heartbeat('a', sent), clock.now);
        await store.putHeartbeat(key, 'alpha', heartbeat('b', sent), clock.now);
        await store.removeCandidate(key, 'alpha', 'a', sent);
        await store.removeCandidate(key, 'alpha', 'b', sent + 1);
        expect((await store.loadLease(key)).candidates).toEqual([]);
      });

      it('keeps a candidate that renewed since; a missing one is no error', async () => {
        const key = freshKey();
        const { candidate } = await store.putHeartbeat(key, 'alpha', heartbeat('a', clock.now), clock.now);
        await expect(store.removeCandidate(key, 'alpha', 'a', clock.now - 1)).resolves.toBeUndefined();
        await expect(store.removeCandidate(key, 'alpha', 'missing', clock.now)).resolves.toBeUndefined();
        expect((await store.loadLease(key)).candidates).toEqual([candidate]);
      });
    });

    describe('recordRenewal', () => {
      it('records the holder renewing on our clock, ends a deferral, change "renewal"', async () => {
        const key = freshKey();
        const read = await seed(key, held());
        await store.deferTakeover(
          key,
          read,
          { notBefore: clock.now + 15_000, holderClusterOut: true },
          clock.now,
        );
        const now = clock.advance(3_000);
        const stored = await store.recordRenewal(
          key,
          { holderIdentity: 'holder-1', expectedHolder: 'holder-1', leaseDurationSeconds: 20 },
          now,
        );
        expect(stored).toEqual({
          record: { ...read.record, leaseDurationSeconds: 20, renewTime: now },
          version: 3,
        });
        expect(await lease(key)).toEqual(stored);
        await expectLeaseItem(key, 'renewal', now);
      });

      it('records a release (holder "") with who released and when, change "release"', async () => {
        const key = freshKey();
        const read = await seed(key, held());
        const now = clock.advance(3_000);
        const stored = await store.recordRenewal(
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
        expect(await lease(key)).toEqual(stored);
        await expectLeaseItem(key, 'release', now);
      });

      it('throws ConflictError when another holder is recorded, writing nothing', async () => {
        const key = freshKey();
        const read = await seed(key, held());
        for (const holderIdentity of ['holder-2', '']) {
          const error = await rejection(
            store.recordRenewal(
              key,
              { holderIdentity, expectedHolder: 'holder-2', leaseDurationSeconds: 15 },
              clock.now,
            ),
          );
          expect(error).toBeInstanceOf(ConflictError);
        }
        expect(await lease(key)).toEqual(read);
      });

      it('throws ConflictError when there is no record', async () => {
        const key = freshKey();
        const error = await rejection(
          store.recordRenewal(
            key,
            { holderIdentity: 'h', expectedHolder: 'h', leaseDurationSeconds: 15 },
            clock.now,
          ),
        );
        expect(error).toBeInstanceOf(ConflictError);
        expect(await lease(key)).toBeUndefined();
      });
    });

    describe('observeLease', () => {
      it('records an empty Lease showing a term of ours before any record: no holder, that term (adoption)', async () => {
        const key = freshKey();
        const seen = observation({ holderIdentity: '', shownTerm: 3, highestShownTerm: 5 });
        expect(await store.observeLease(key, seen, undefined, clock.now)).toBe(true);
        expect(await lease(key)).toEqual({
          record: {
            holderIdentity: '',
            holderCluster: 'alpha',
            leaseDurationSeconds: 15,
            renewTime: clock.now,
            term: 5,
          },
          version: 1,
          observedRenewTime: 1_000,
        });
        await expectLeaseItem(key, 'observed', clock.now);
      });

      it('gives a holder seen before any record a term above the highest any Lease shows', async () => {
        const key = freshKey();
        const seen = observation({ holderIdentity: 'legacy', shownTerm: 3, highestShownTerm: 5 });
        expect(await store.observeLease(key, seen, undefined, clock.now)).toBe(true);
        expect((await lease(key))?.record.term).toBe(6);
      });

      it('records a Lease held before any record (a legacy elector) as a new holding, change "observed"', async () => {
        const key = freshKey();
        const seen = observation({ holderIdentity: 'legacy', renewTime: 777 });
        expect(await store.observeLease(key, seen, undefined, clock.now)).toBe(true);
        expect(await lease(key)).toEqual({
          record: {
            holderIdentity: 'legacy',
            holderCluster: 'alpha',
            leaseDurationSeconds: 15,
            renewTime: clock.now,
            term: 1,
          },
          version: 1,
          observedRenewTime: 777,
        });
        await expectLeaseItem(key, 'observed', clock.now);
      });

      it('returns false when a record appeared since nothing was read', async () => {
        const key = freshKey();
        const first = await seed(key, held());
        expect(
          await store.observeLease(key, observation({ holderIdentity: 'legacy' }), undefined, clock.now),
        ).toBe(false);
        expect(await lease(key)).toEqual(first);
      });

      it.each([
        ['alpha', 'renewal-local'],
        ['a+b', 'renewal'],
      ])(
        'records the recorded holder renewing (scope %s, change "%s") and ends a deferral',
        async (scope, change) => {
          const key = freshKey(scope);
          const seeded = await seed(key, held());
          await store.deferTakeover(
            key,
            seeded,
            { notBefore: clock.now + 1, holderClusterOut: true },
            clock.now,
          );
          const read = await lease(key);
          const now = clock.advance(2_000);
          expect(
            await store.observeLease(
              key,
              observation({ renewTime: 2_000, leaseDurationSeconds: 30 }),
              read,
              now,
            ),
          ).toBe(true);
          expect(await lease(key)).toEqual({
            record: { ...seeded.record, leaseDurationSeconds: 30, renewTime: now },
            version: 3,
            observedRenewTime: 2_000,
          });
          await expectLeaseItem(key, change, now);
        },
      );

      it('returns false for a renewal not newer than the last one seen', async () => {
        const key = freshKey();
        await seed(key, held());
        await store.observeLease(key, observation({ renewTime: 2_000 }), await lease(key), clock.now);
        const read = await lease(key);
        for (const renewTime of [2_000, 1_999])
          expect(await store.observeLease(key, observation({ renewTime }), read, clock.advance(1))).toBe(
            false,
          );
        expect(await lease(key)).toEqual(read);
      });

      it('returns false for a renewal when the record changed holder since the read', async () => {
        const key = freshKey();
        const read = await seed(key, held());
        await store.writeLease(key, held({ holderIdentity: 'holder-2', term: 2 }), read.version, clock.now);
        const before = await lease(key);
        expect(await store.observeLease(key, observation(), read, clock.now)).toBe(false);
        expect(await lease(key)).toEqual(before);
      });

      it('records a release seen in the holder cluster: who released and when, change "release"', async () => {
        const key = freshKey();
        const read = await seed(key, held());
        const now = clock.advance(1_000);
        expect(
          await store.observeLease(key, observation({ holderIdentity: '', renewTime: 3_000 }), read, now),
        ).toBe(true);
        expect(await lease(key)).toEqual({
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
        await expectLeaseItem(key, 'release', now);
      });

      it('returns false for a release when the record changed since the read', async () => {
        const key = freshKey();
        const read = await seed(key, held());
        await store.recordRenewal(
          key,
          { holderIdentity: 'holder-1', expectedHolder: 'holder-1', leaseDurationSeconds: 15 },
          clock.now,
        );
        const before = await lease(key);
        expect(await store.observeLease(key, observation({ holderIdentity: '' }), read, clock.now)).toBe(
          false,
        );
        expect(await lease(key)).toEqual(before);
      });

      it('records another holder that took the Lease as a new holding under a new term', async () => {
        const key = freshKey();
        const read = await seed(key, held({ preferredHolder: 'c2' }));
        const now = clock.advance(1_000);
        expect(
          await store.observeLease(
            key,
            observation({ holderIdentity: 'legacy', cluster: 'beta' }),
            read,
            now,
          ),
        ).toBe(true);
        expect(await lease(key)).toEqual({
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
        await expectLeaseItem(key, 'observed', now);
      });

      it('records the holder shown under a term of ours above the record as a holding under that term', async () => {
        const key = freshKey();
        const read = await seed(key, held());
        expect(await store.observeLease(key, observation({ shownTerm: 4 }), read, clock.now)).toBe(true);
        expect((await lease(key))?.record.term).toBe(4);
      });

      it('returns false for another holder when the record changed since the read', async () => {
        const key = freshKey();
        const read = await seed(key, held());
        await store.writeLease(key, held({ term: 2 }), read.version, clock.now);
        const before = await lease(key);
        expect(
          await store.observeLease(key, observation({ holderIdentity: 'legacy' }), read, clock.now),
        ).toBe(false);
        expect(await lease(key)).toEqual(before);
      });

      it('ends a deferral when another holder took the Lease', async () => {
        const key = freshKey();
        const seeded = await seed(key, held());
        await store.deferTakeover(
          key,
          seeded,
          { notBefore: clock.now + 1, holderClusterOut: true },
          clock.now,
        );
        const now = clock.advance(1_000);
        expect(
          await store.observeLease(key, observation({ holderIdentity: 'legacy' }), await lease(key), now),
        ).toBe(true);
        expect(await lease(key)).toEqual({
          record: { ...seeded.record, holderIdentity: 'legacy', renewTime: now, term: 2 },
          version: 3,
          observedRenewTime: 1_000,
        });
        await expectLeaseItem(key, 'observed', now);
      });

      it('returns false for an empty Lease over a record that never had a holder: nothing to record', async () => {
        const key = freshKey();
        const read = await seed(key, { term: 0, strategy: 'OldestEmulationVersion' });
        expect(await store.observeLease(key, observation({ holderIdentity: '' }), read, clock.now)).toBe(
          false,
        );
        expect(await lease(key)).toEqual(read);
      });
    });

    describe('renewObservedLease', () => {
      it('records the holder renewing in its own cluster without a read; returns the lease as stored', async () => {
        const key = freshKey();
        const read = await seed(key, held());
        await store.deferTakeover(
          key,
          read,
          { notBefore: clock.now + 1, holderClusterOut: false },
          clock.now,
        );
        const now = clock.advance(1_000);
        const stored = await store.renewObservedLease(
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
        expect(await lease(key)).toEqual(stored);
        await expectLeaseItem(key, 'renewal-local', now);
      });

      it.each<[string, Partial<LeaseObservation>, string]>([
        ['another holder is recorded', {}, 'holder-2'],
        ['the holder is recorded in another cluster', { cluster: 'beta' }, 'holder-1'],
        ['the renewal is not newer than the last seen', { renewTime: 5_000 }, 'holder-1'],
      ])('returns undefined when %s, writing nothing', async (_, seen, expectedHolder) => {
        const key = freshKey();
        await seed(key, held());
        await store.renewObservedLease(key, observation({ renewTime: 5_000 }), 'holder-1', clock.now);
        const before = await lease(key);
        expect(
          await store.renewObservedLease(
            key,
            observation({ renewTime: 6_000, ...seen }),
            expectedHolder,
            clock.now,
          ),
        ).toBeUndefined();
        expect(await lease(key)).toEqual(before);
      });

      it('returns undefined when there is no record', async () => {
        const key = freshKey();
        expect(await store.renewObservedLease(key, observation(), 'holder-1', clock.now)).toBeUndefined();
        expect(await lease(key)).toBeUndefined();
      });
    });

    describe('deferTakeover', () => {
      it('holds a takeover off with the holder cluster out, change "deferred"', async () => {
        const key = freshKey();
        const read = await seed(key, held());
        const now = clock.advance(1_000);
        expect(
          await store.deferTakeover(key, read, { notBefore: now + 15_000, holderClusterOut: true }, now),
        ).toBe(true);
        expect(await lease(key)).toEqual({
          record: read.record,
          version: 2,
          takeoverNotBefore: now + 15_000,
          holderClusterOut: true,
        });
        await expectLeaseItem(key, 'deferred', now);
      });

      it('clears holderClusterOut once the cluster answers, with a new notBefore', async () => {
        const key = freshKey();
        await seed(key, held());
        await store.deferTakeover(
          key,
          (await lease(key)) as StoredLease,
          { notBefore: 1, holderClusterOut: true },
          0,
        );
        const read = (await lease(key)) as StoredLease;
        const now = clock.advance(1_000);
        expect(
          await store.deferTakeover(key, read, { notBefore: now + 15_000, holderClusterOut: false }, now),
        ).toBe(true);
        expect(await lease(key)).toEqual({
          record: read.record,
          version: 3,
          takeoverNotBefore: now + 15_000,
        });
      });

      it('returns false when the record changed since the read, and when it is gone', async () => {
        const key = freshKey();
        const read = await seed(key, held());
        await store.recordRenewal(
          key,
          { holderIdentity: 'holder-1', expectedHolder: 'holder-1', leaseDurationSeconds: 15 },
          clock.now,
        );
        const before = await lease(key);
        const deferral = { notBefore: clock.now + 1, holderClusterOut: true };
        expect(await store.deferTakeover(key, read, deferral, clock.now)).toBe(false);
        expect(await lease(key)).toEqual(before);
        expect(await store.deferTakeover(freshKey(), read, deferral, clock.now)).toBe(false);
      });
    });

    describe('armTimer and disarmTimer', () => {
      const timer = async (key: LeaseKey) => (await store.loadLease(key)).timerDueAt;

      it('arms a first timer and reports none replaced', async () => {
        const key = freshKey();
        expect(await store.armTimer(key, clock.now + 5_000, clock.now)).toEqual({});
        expect(await timer(key)).toBe(clock.now + 5_000);
        expect(await subject.item(partitionKey(key), TIMER_SK)).toEqual({
          pk: partitionKey(key),
          sk: TIMER_SK,
          kind: 'timer',
          dueAt: clock.now + 5_000,
        });
      });

      it('arms an earlier timer over a pending one and returns the one it replaced', async () => {
        const key = freshKey();
        await store.armTimer(key, clock.now + 5_000, clock.now);
        expect(await store.armTimer(key, clock.now + 2_000, clock.now)).toEqual({
          replaced: clock.now + 5_000,
        });
        expect(await timer(key)).toBe(clock.now + 2_000);
      });

      it.each([
        ['a later', 9_000],
        ['the same', 5_000],
      ])('returns undefined for %s deadline while one is pending, changing nothing', async (_, due) => {
        const key = freshKey();
        await store.armTimer(key, clock.now + 5_000, clock.now);
        expect(await store.armTimer(key, clock.now + due, clock.now)).toBeUndefined();
        expect(await timer(key)).toBe(clock.now + 5_000);
      });

      it('arms over a timer whose deadline has passed and returns it as replaced', async () => {
        const key = freshKey();
        const first = clock.now + 5_000;
        await store.armTimer(key, first, clock.now);
        const now = clock.advance(5_000);
        expect(await store.armTimer(key, now + 9_000, now)).toEqual({ replaced: first });
        expect(await timer(key)).toBe(now + 9_000);
      });

      it('takes a timer back by putting back the one it replaced while that is pending', async () => {
        const key = freshKey();
        await store.armTimer(key, clock.now + 5_000, clock.now);
        const armed = await store.armTimer(key, clock.now + 2_000, clock.now);
        await expect(
          store.disarmTimer(key, clock.now + 2_000, armed?.replaced, clock.now),
        ).resolves.toBeUndefined();
        expect(await timer(key)).toBe(clock.now + 5_000);
      });

      it.each<[string, Millis | undefined]>([
        ['it replaced none', undefined],
        ['the one it replaced is due by now', 0],
      ])('takes a timer back by removing the record when %s', async (_, replacedAt) => {
        const key = freshKey();
        const replaced = replacedAt === undefined ? undefined : clock.now + replacedAt;
        await store.armTimer(key, clock.now + 2_000, clock.now);
        await store.disarmTimer(key, clock.now + 2_000, replaced, clock.now);
        expect(await timer(key)).toBeUndefined();
        expect(await subject.item(partitionKey(key), TIMER_SK)).toBeUndefined();
        // The record is gone, so the retry of the step arms and sends it again.
        expect(await store.armTimer(key, clock.now + 2_000, clock.now)).toEqual({});
      });

      it('changes nothing when another step armed a timer since, or none is armed', async () => {
        const key = freshKey();
        await store.armTimer(key, clock.now + 5_000, clock.now);
        await store.disarmTimer(key, clock.now + 2_000, undefined, clock.now);
        await store.disarmTimer(key, clock.now + 2_000, clock.now + 9_000, clock.now);
        expect(await timer(key)).toBe(clock.now + 5_000);
        const none = freshKey();
        await expect(store.disarmTimer(none, clock.now, undefined, clock.now)).resolves.toBeUndefined();
        expect(await timer(none)).toBeUndefined();
      });
    });

    describe('scanLeases', () => {
      it('yields every lease partition once, whole, with its key (pages split partitions)', async () => {
        const solo = freshKey();
        const group = freshKey('a+b');
        const timerOnly = freshKey();
        await store.writeLease(solo, held(), undefined, clock.now);
        for (const name of ['c1', 'c2', 'c3'])
          await store.putHeartbeat(solo, 'alpha', heartbeat(name, clock.now), clock.now);
        await store.armTimer(solo, clock.now + 1_000, clock.now);
        await store.putHeartbeat(group, 'a', heartbeat('g1', clock.now), clock.now);
        await store.putHeartbeat(group, 'b', heartbeat('g2', clock.now), clock.now);
        await store.armTimer(timerOnly, clock.now + 1_000, clock.now);
        const mine = new Set([solo, group, timerOnly].map(partitionKey));
        const seen: ScannedLease[] = [];
        for await (const scanned of store.scanLeases())
          if (mine.has(partitionKey(scanned.key))) seen.push(scanned);
        const byPk = (s: ScannedLease) => partitionKey(s.key);
        expect(seen.map(byPk).sort()).toEqual([...mine].sort());
        for (const key of [solo, group, timerOnly]) {
          const scanned = seen.find((s) => byPk(s) === partitionKey(key));
          expect(scanned?.key).toEqual(key);
          expect(scanned?.state).toEqual(await store.loadLease(key));
        }
      });
    });
  });
}
