import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  paginateQuery,
  paginateScan,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ConditionFailedError } from '../errors.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { LeaseState, ScannedLease } from '../ports/store.js';
import { ExpressionParts } from './expressions.js';
import { leaseStateFromItems } from './items.js';
import { partitionKey } from './keys.js';
import { PlannedStore } from './planned-store.js';
import { groupByPartition } from './scan-groups.js';
import type { WritePlan } from './write-plan.js';

/**
 * The coordinator's table on DynamoDB. It decides nothing: each write is a plan (plans/) carried
 * out as one conditional request, and a failed condition comes back as ConditionFailedError with
 * the item DynamoDB returned (ReturnValuesOnConditionCheckFailure: ALL_OLD), at no extra read.
 */
export class DynamoDbStore extends PlannedStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    /** Items per Scan page (DynamoDB's own limit, 1 MB, when absent); tests use small pages. */
    private readonly scanPageItems?: number,
  ) {
    super();
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  protected async execute(plan: WritePlan): Promise<Record<string, unknown> | undefined> {
    try {
      if (plan.kind === 'update') {
        const out = await this.doc.send(this.updateCommand(plan));
        return out.Attributes;
      }
      if (plan.kind === 'put') await this.doc.send(this.putCommand(plan));
      else await this.doc.send(this.deleteCommand(plan));
      return undefined;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // The document client does not unmarshall the item a failed condition returns.
      const item = error.Item === undefined ? undefined : unmarshall(error.Item);
      throw new ConditionFailedError(plan.condition.name, item, `${plan.request} ${plan.pk} ${plan.sk}`, {
        cause: error,
      });
    }
  }

  private putCommand(plan: WritePlan & { kind: 'put' }): PutCommand {
    return new PutCommand({
      ...this.conditional(plan, new ExpressionParts()),
      Item: plan.item as Record<string, unknown>,
    });
  }

  private updateCommand(plan: WritePlan & { kind: 'update' }): UpdateCommand {
    const parts = new ExpressionParts();
    const UpdateExpression = parts.update(plan);
    return new UpdateCommand({
      ...this.conditional(plan, parts),
      Key: { pk: plan.pk, sk: plan.sk },
      UpdateExpression,
      ReturnValues: plan.returns === 'new' ? 'ALL_NEW' : 'ALL_OLD',
    });
  }

  private deleteCommand(plan: WritePlan & { kind: 'delete' }): DeleteCommand {
    return new DeleteCommand({
      ...this.conditional(plan, new ExpressionParts()),
      Key: { pk: plan.pk, sk: plan.sk },
    });
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
    const items: Record<string, unknown>[] = [];
    const pages = paginateQuery(
      { client: this.doc },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': partitionKey(key) },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) items.push(...(page.Items ?? []));
    return leaseStateFromItems(items);
  }

  async *scanLeases(): AsyncIterable<ScannedLease> {
    const pages = paginateScan(
      { client: this.doc },
      {
        TableName: this.tableName,
        ConsistentRead: true,
        ...(this.scanPageItems !== undefined && { Limit: this.scanPageItems }),
      },
    );
    yield* groupByPartition(
      (async function* () {
        for await (const page of pages) yield* (page.Items ?? []) as Record<string, unknown>[];
      })(),
    );
  }
}
