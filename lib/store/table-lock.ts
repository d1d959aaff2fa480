import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Millis } from '../election/types.js';
import { LOCK_SK, lockPartitionKey } from './keys.js';
import { TableCalls } from './table-calls.js';

/** A lock item: who holds it, and until when (after which anyone may take it). */
export interface LockItem {
  pk: string;
  sk: string;
  kind: 'lock';
  owner: string;
  heldUntil: Millis;
}

/**
 * A named lock in the coordinator's table, taken with a conditional write. It keeps one sweep
 * running at a time without reserved concurrency (which accounts with a concurrency quota of 10
 * cannot grant). A holder that dies keeps it only until `heldUntil` (its Lambda's deadline), so a
 * crashed run never blocks the next ones for longer than its own timeout.
 */
export class TableLock {
  private readonly calls: TableCalls;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly name: string,
  ) {
    this.calls = new TableCalls(client);
  }

  /** True when `owner` now holds the lock until `heldUntil`; false while another holder's time runs. */
  async acquire(owner: string, now: Millis, heldUntil: Millis): Promise<boolean> {
    const item: LockItem = { pk: lockPartitionKey(this.name), sk: LOCK_SK, kind: 'lock', owner, heldUntil };
    try {
      await this.calls.put({
        TableName: this.tableName,
        Item: item,
        // Our own lock passes too: a put sent again after a timeout finds the one that landed.
        ConditionExpression: 'attribute_not_exists(pk) OR heldUntil < :now OR #owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':now': now, ':owner': owner },
      });
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Lets go, unless the lock has passed to someone else meanwhile (then it is theirs to release). */
  async release(owner: string): Promise<void> {
    try {
      await this.calls.delete({
        TableName: this.tableName,
        Key: { pk: lockPartitionKey(this.name), sk: LOCK_SK },
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': owner },
      });
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
