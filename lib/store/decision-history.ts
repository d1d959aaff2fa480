import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DecisionRecord } from '../election/decision-record.js';
import type { Millis } from '../election/types.js';
import type { DecisionHistory, HistoryRetention } from '../ports/history.js';
import type { LeaseKey } from '../ports/lease-key.js';
import { HISTORY_HEAD_SK, HISTORY_SK_PREFIX, historyPartitionKey, historySortKey } from './history-keys.js';
import { TableCalls } from './table-calls.js';

/** A history item as stored: `record` is a map, so no top-level attribute a stream filter reads is set. */
export interface HistoryItem {
  pk: string;
  sk: string;
  kind: 'history';
  seq: number;
  record: DecisionRecord;
  /** TTL, epoch seconds. */
  expiresAt: number;
}

/** A slot is taken over only by a newer record, or when the one there has expired (TTL runs late). */
const SLOT_FREE_FOR = 'attribute_not_exists(seq) OR seq < :seq OR expiresAt < :nowSeconds';

/**
 * DecisionHistory in the coordinator's table, in a partition of its own per lease
 * (`HISTORY#<scope>/<namespace>/<name>`): a lease's reconcile Query never reads it, the sweep's
 * scan passes over it, and no stream filter wakes on it (kind "history").
 */
export class DynamoDbDecisionHistory implements DecisionHistory {
  private readonly calls: TableCalls;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly retention: HistoryRetention,
  ) {
    this.calls = new TableCalls(client);
  }

  async reserve(key: LeaseKey, now: Millis): Promise<number> {
    const attributes = await this.calls.update({
      TableName: this.tableName,
      Key: { pk: historyPartitionKey(key), sk: HISTORY_HEAD_SK },
      UpdateExpression: 'ADD seq :one SET kind = :kind, expiresAt = :ttl',
      ExpressionAttributeValues: { ':one': 1, ':kind': 'history', ':ttl': this.ttl(now) },
      ReturnValues: 'UPDATED_NEW',
    });
    return Number(attributes?.seq);
  }

  async append(key: LeaseKey, seq: number, record: DecisionRecord): Promise<void> {
    const item = historyItem(key, seq, record, this.retention);
    try {
      await this.calls.put({
        TableName: this.tableName,
        Item: item,
        ConditionExpression: SLOT_FREE_FOR,
        ExpressionAttributeValues: { ':seq': seq, ':nowSeconds': Math.floor(record.at / 1000) },
      });
    } catch (error) {
      // A newer record is already in the slot (this one arrived late): it is the one to keep.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async recent(key: LeaseKey): Promise<DecisionRecord[]> {
    const items = await this.calls.query({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': historyPartitionKey(key), ':prefix': HISTORY_SK_PREFIX },
    });
    return newestFirst(items as HistoryItem[]);
  }

  private ttl(at: Millis): number {
    return historyTtl(at, this.retention);
  }
}

/**
 * A lease's records, the latest decision first. By the decision's own time, not its number: a step
 * takes its number once its writes are in (lib/coordinator/decision-history.ts), and a decision
 * whose mirror pass waits on a slow cluster takes it after a decision written since. The number
 * breaks a tie.
 */
export function newestFirst(items: readonly HistoryItem[]): DecisionRecord[] {
  return [...items].sort((a, b) => b.record.at - a.record.at || b.seq - a.seq).map((item) => item.record);
}

/** A record's item: in the slot its number comes round to, expiring a retention after the decision. */
export function historyItem(
  key: LeaseKey,
  seq: number,
  record: DecisionRecord,
  retention: HistoryRetention,
): HistoryItem {
  return {
    pk: historyPartitionKey(key),
    sk: historySortKey(seq % retention.perLease),
    kind: 'history',
    seq,
    record,
    expiresAt: historyTtl(record.at, retention),
  };
}

export function historyTtl(at: Millis, retention: HistoryRetention): number {
  return Math.ceil((at + retention.retentionMs) / 1000);
}
