import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { reconcileLease } from '../coordinator/reconcile-lease.js';
import type { CoordinatorDeps } from '../ports/coordinator.js';
import { forEachLease } from './by-lease.js';

/** elect: one reconcile per lease touched by the batch. */
export function handleStreamBatch(
  deps: CoordinatorDeps,
  event: DynamoDBStreamEvent,
): Promise<DynamoDBBatchResponse> {
  return forEachLease(event, deps.logger, 'reconcile', (key) => reconcileLease(deps, key));
}
