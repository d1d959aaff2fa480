import { describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../../lib/election/decision-record.js';
import type { Millis } from '../../../lib/election/types.js';
import type { HistoryRetention } from '../../../lib/ports/history.js';
import { HISTORY_HEAD_SK, historyPartitionKey, historySortKey } from '../../../lib/store/history-keys.js';
import { type ContractContext, freshKey } from './context.js';

/** The retention every store under contract is opened with: a small ring, to see it wrap. */
export const CONTRACT_HISTORY: HistoryRetention = { perLease: 3, retentionMs: 24 * 3600_000 };

function decided(term: number, at: Millis): DecisionRecord {
  return {
    at,
    action: 'takeover',
    term,
    holder: `holder-${term}`,
    holderCluster: 'alpha',
    cause: 'expired',
    message: `Elected holder-${term} (term ${term}): lowest emulation version 1.33.0 of 2 candidates`,
    ranked: [
      {
        rank: 1,
        cluster: 'alpha',
        name: `holder-${term}`,
        emulationVersion: '1.33.0',
        binaryVersion: '1.34.0',
        ageMs: 60_000,
        standing: 'live',
        criterion: 'emulationVersion',
      },
    ],
    rankedCount: 2,
    pinged: ['alpha/other'],
    leftOut: [{ cluster: 'alpha', name: 'gone', reason: 'expired: no renewal for 30m' }],
  };
}

/** The decision history: numbered records in a ring of slots per lease, with a TTL, out of every lease read. */
export function historyCases(t: ContractContext): void {
  describe('decision history', () => {
    const record = async (key: ReturnType<typeof freshKey>, term: number) => {
      const seq = await t.history.reserve(key, t.clock.now);
      const written = decided(term, t.clock.now);
      await t.history.append(key, seq, written);
      return { seq, written };
    };

    it('has no records for a lease never decided', async () => {
      expect(await t.history.recent(freshKey())).toEqual([]);
    });

    it('numbers records from 1 and returns them newest first', async () => {
      const key = freshKey();
      const first = await record(key, 1);
      t.clock.advance(1_000);
      const second = await record(key, 2);
      expect([first.seq, second.seq]).toEqual([1, 2]);
      expect(await t.history.recent(key)).toEqual([second.written, first.written]);
    });

    it('keeps only the last records of a lease, as many as its retention says', async () => {
      const key = freshKey();
      const written: DecisionRecord[] = [];
      for (let term = 1; term <= CONTRACT_HISTORY.perLease + 2; term++) {
        written.push((await record(key, term)).written);
        t.clock.advance(1_000);
      }
      expect(await t.history.recent(key)).toEqual(written.slice(-CONTRACT_HISTORY.perLease).reverse());
    });

    it('never puts a late, older record over a newer one in its slot', async () => {
      const key = freshKey();
      const seqs: number[] = [];
      for (let i = 0; i <= CONTRACT_HISTORY.perLease; i++)
        seqs.push(await t.history.reserve(key, t.clock.now));
      const newer = decided(9, t.clock.now + 1);
      await t.history.append(key, seqs.at(-1) as number, newer);
      // Numbers 1 and perLease + 1 share a slot.
      await t.history.append(key, seqs[0] as number, decided(1, t.clock.now));
      expect(await t.history.recent(key)).toEqual([newer]);
    });

    it('lists the records by when they were decided, whichever took its number first', async () => {
      const key = freshKey();
      const earlier = decided(1, t.clock.now);
      const later = decided(2, t.clock.now + 1);
      // The later decision's step took its number first: the earlier one's mirror pass was slow.
      const laterSeq = await t.history.reserve(key, t.clock.now);
      const earlierSeq = await t.history.reserve(key, t.clock.now);
      await t.history.append(key, laterSeq, later);
      await t.history.append(key, earlierSeq, earlier);
      expect(await t.history.recent(key)).toEqual([later, earlier]);
    });

    it('skips a number taken and never used', async () => {
      const key = freshKey();
      await t.history.reserve(key, t.clock.now);
      const { seq, written } = await record(key, 2);
      expect(seq).toBe(2);
      expect(await t.history.recent(key)).toEqual([written]);
    });

    it('stores a record whole, as kind "history", expiring one retention after the decision', async () => {
      const key = freshKey();
      const { written } = await record(key, 1);
      const ttl = Math.ceil((t.clock.now + CONTRACT_HISTORY.retentionMs) / 1000);
      expect(await t.subject.item(historyPartitionKey(key), historySortKey(1))).toEqual({
        pk: historyPartitionKey(key),
        sk: historySortKey(1),
        kind: 'history',
        seq: 1,
        record: written,
        expiresAt: ttl,
      });
      expect(await t.subject.item(historyPartitionKey(key), HISTORY_HEAD_SK)).toEqual({
        pk: historyPartitionKey(key),
        sk: HISTORY_HEAD_SK,
        kind: 'history',
        seq: 1,
        expiresAt: ttl,
      });
    });

    it('stays out of the lease read and the sweep scan', async () => {
      const key = freshKey();
      await t.seed(key, t.held());
      await record(key, 1);
      const state = await t.store.loadLease(key);
      expect(state.candidates).toEqual([]);
      expect(state.lease?.record.term).toBe(1);
      const scanned: string[] = [];
      for await (const lease of t.store.scanLeases()) scanned.push(`${lease.key.scope}/${lease.key.name}`);
      expect(scanned.filter((k) => k === `${key.scope}/${key.name}`)).toHaveLength(1);
    });
  });
}
