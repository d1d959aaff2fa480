import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Metrics } from '../ports/metrics.js';

/**
 * Counts every table write refused by its condition (ConditionalCheckFailures, by operation:
 * PutItem, UpdateItem, DeleteItem), whichever code sent it: the store, the heartbeat write, the
 * sweep lock. A middleware on the client sees them all in one place; the error goes on unchanged.
 * It goes on before the client's first call, which fixes each command's middleware
 * (TABLE_CLIENT_CACHING, lib/runtime/aws-clients.ts).
 */
export function countConditionalFailures(client: DynamoDBClient, metrics: Metrics): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if ((error as Error | undefined)?.name === 'ConditionalCheckFailedException')
          metrics.record('ConditionalCheckFailures', 1, operationOf(context.commandName));
        throw error;
      }
    },
    { step: 'initialize', name: 'countConditionalFailures' },
  );
}

/** `UpdateItemCommand` → `UpdateItem`: a short list of values, not one per call. */
function operationOf(commandName: string | undefined): string {
  return commandName?.replace(/Command$/, '') || 'Unknown';
}
