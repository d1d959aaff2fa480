import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Commands that can report the capacity they consumed. */
const METERED = new Set([
  'GetItemCommand',
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
  'TransactGetItemsCommand',
]);

interface Consumed {
  readonly ReadCapacityUnits?: number;
  readonly WriteCapacityUnits?: number;
  readonly CapacityUnits?: number;
}

/**
 * Counts the read and write units DynamoDB reports for every call (ReturnConsumedCapacity TOTAL,
 * added by a client middleware, so the coordinator's code is measured unchanged). A failed
 * conditional write reports nothing but is billed one write unit, so it is counted as one.
 */
export class CapacityMeter {
  readUnits = 0;
  writeUnits = 0;
  failedConditions = 0;
  readonly calls = new Map<string, number>();

  attach(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = (context as { commandName?: string }).commandName ?? 'unknown';
        this.calls.set(command, (this.calls.get(command) ?? 0) + 1);
        if (METERED.has(command)) (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'TOTAL';
        try {
          const result = await next(args);
          this.add((result.output as { ConsumedCapacity?: Consumed | Consumed[] }).ConsumedCapacity, command);
          return result;
        } catch (error) {
          if ((error as Error).name === 'ConditionalCheckFailedException') {
            this.failedConditions += 1;
            this.writeUnits += 1;
          }
          throw error;
        }
      },
      { step: 'initialize', name: 'benchCapacityMeter' },
    );
  }

  snapshot(): {
    readUnits: number;
    writeUnits: number;
    failedConditions: number;
    calls: Record<string, number>;
  } {
    return {
      readUnits: this.readUnits,
      writeUnits: this.writeUnits,
      failedConditions: this.failedConditions,
      calls: Object.fromEntries(this.calls),
    };
  }

  private add(consumed: Consumed | Consumed[] | undefined, command: string): void {
    for (const c of Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed]) {
      const units = c.CapacityUnits ?? 0;
      const isWrite = /Put|Update|Delete|Write/.test(command);
      this.readUnits += c.ReadCapacityUnits ?? (isWrite ? 0 : units);
      this.writeUnits += c.WriteCapacityUnits ?? (isWrite ? units : 0);
    }
  }
}
