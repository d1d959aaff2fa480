import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ConditionFailedError } from '../errors.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { LeaseState, ScannedLease } from '../ports/store.js';
import { ExpressionParts } from './expressions.js';
import { leaseStateFromItems } from './items.js';
import { partitionKey } from './keys.js';
import { PlannedStore } from './planned-store.js';
import { groupByPartition } from './scan-groups.js';
import { type PlainDelete, type PlainPut, type PlainUpdate, TableCalls } from './table-calls.js';
import type { WritePlan } from './write-plan.js';

/**
 * The coordinator's table on DynamoDB. It decides nothing: each write is a plan (plans/) carried
 * out as one conditional request, and a failed condition comes back as ConditionFailedError with
 * the item DynamoDB returned (ReturnValuesOnConditionCheckFailure: ALL_OLD), at no extra read.
 */
export class DynamoDbStore extends PlannedStore {
  private readonly calls: TableCalls;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    /** Items per Scan page (DynamoDB's own limit, 1 MB, when absent); tests use small pages. */
    private readonly scanPageItems?: number,
  ) {
    super();
    this.calls = new TableCalls(client);
  }

  protected async execute(plan: WritePlan): Promise<Record<string, unknown> | undefined> {
    try {
      if (plan.kind === 'update') return await this.calls.update(this.updateInput(plan));
      if (plan.kind === 'put') await this.calls.put(this.putInput(plan));
      else await this.calls.delete(this.deleteInput(plan));
      return undefined;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const item = error.Item === undefined ? undefined : unmarshall(error.Item);
      throw new ConditionFailedError(plan.condition.name, item, `${plan.request} ${plan.pk} ${plan.sk}`, {
        cause: error,
      });
    }
  }

  private putInput(plan: WritePlan & { kind: 'put' }): PlainPut {
    return { ...this.conditional(plan, new ExpressionParts()), Item: plan.item };
  }

  private updateInput(plan: WritePlan & { kind: 'update' }): PlainUpdate {
    const parts = new ExpressionParts();
    const UpdateExpression = parts.update(plan);
    return {
      ...this.conditional(plan, parts),
      Key: { pk: plan.pk, sk: plan.sk },
      UpdateExpression,
      ReturnValues: plan.returns === 'new' ? 'ALL_NEW' : 'ALL_OLD',
    };
  }

  private deleteInput(plan: WritePlan & { kind: 'delete' }): PlainDelete {
    return { ...this.conditional(plan, new ExpressionParts()), Key: { pk: plan.pk, sk: plan.sk } };
  }

  /**
   * What every write carries: its condition, the placeholders of all its expressions (so `parts`
   * must have rendered the others first), and the item back when the condition fails.
   */
  private conditional(plan: WritePlan, parts: ExpressionParts) {
    const ConditionExpression = parts.condition(plan.condition);
    return {
      TableName: this.tableName,
      ConditionExpression,
      ...parts.placeholders(),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };
  }

  async loadLease(key: LeaseKey): Promise<LeaseState> {
    const items = await this.calls.query({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': partitionKey(key) },
      ConsistentRead: true,
    });
    return leaseStateFromItems(items);
  }

  async *scanLeases(): AsyncIterable<ScannedLease> {
    yield* groupByPartition(
      this.calls.scan({
        TableName: this.tableName,
        ConsistentRead: true,
        ...(this.scanPageItems !== undefined && { Limit: this.scanPageItems }),
      }),
    );
  }
}
