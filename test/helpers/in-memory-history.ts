import type { DecisionRecord } from '../../lib/election/decision-record.js';
import type { Millis } from '../../lib/election/types.js';
import type { DecisionHistory, HistoryRetention } from '../../lib/ports/history.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import { type HistoryItem, historyItem, historyTtl, newestFirst } from '../../lib/store/decision-history.js';
import { HISTORY_HEAD_SK, historyPartitionKey } from '../../lib/store/history-keys.js';

/** DecisionHistory over a map, with DynamoDbDecisionHistory's items and slot rule (the store contract holds them together). */
export class InMemoryDecisionHistory implements DecisionHistory {
  private readonly items = new Map<string, Record<string, unknown>>();

  constructor(private readonly retention: HistoryRetention) {}

  async reserve(key: LeaseKey, now: Millis): Promise<number> {
    const pk = historyPartitionKey(key);
    const head = this.items.get(id(pk, HISTORY_HEAD_SK));
    const seq = (typeof head?.seq === 'number' ? head.seq : 0) + 1;
    this.items.set(id(pk, HISTORY_HEAD_SK), {
      pk,
      sk: HISTORY_HEAD_SK,
      seq,
      kind: 'history',
      expiresAt: historyTtl(now, this.retention),
    });
    return seq;
  }

  async append(key: LeaseKey, seq: number, record: DecisionRecord): Promise<void> {
    const item = historyItem(key, seq, record, this.retention);
    const there = this.items.get(id(item.pk, item.sk)) as HistoryItem | undefined;
    const free = there === undefined || there.seq < seq || there.expiresAt < Math.floor(record.at / 1000);
    if (free) this.items.set(id(item.pk, item.sk), structuredClone({ ...item }));
  }

  async recent(key: LeaseKey): Promise<DecisionRecord[]> {
    const pk = historyPartitionKey(key);
    const items = [...this.items.values()].filter(
      (item): item is HistoryItem & Record<string, unknown> => item.pk === pk && item.sk !== HISTORY_HEAD_SK,
    );
    return newestFirst(items).map((record) => structuredClone(record));
  }

  item(pk: string, sk: string): Record<string, unknown> | undefined {
    return this.items.get(id(pk, sk));
  }
}

function id(pk: string, sk: string): string {
  return `${pk}\u0000${sk}`;
}
