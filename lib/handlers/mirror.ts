import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import type { MirrorDeps } from '../ports/coordinator.js';
import { clustersOf, type LeaseKey } from '../ports/lease-key.js';
import { type ClusterOutcome, mirrorLease } from '../sync/mirror.js';
import { forEachLease } from './by-lease.js';

/**
 * mirror: one pass per lease touched by the batch. A cluster that cannot be reached is not a
 * failure of the batch: mirrorLease reports it, and the next change or the sweep catches it up.
 * A lease of an HTTP-only cluster has no Lease object anywhere and is left alone.
 */
export function handleMirrorBatch(
  deps: MirrorDeps,
  event: DynamoDBStreamEvent,
  onMirrored?: (key: LeaseKey, outcomes: Record<string, ClusterOutcome>) => void,
  httpOnly: (cluster: string) => boolean = () => false,
): Promise<DynamoDBBatchResponse> {
  return forEachLease(event, deps.logger, 'mirror', async (key) => {
    if (clustersOf(key).every(httpOnly)) return;
    // Not `onMirrored?.(key, await mirrorLease(...))`: an optional call skips evaluating its arguments.
    const outcomes = await mirrorLease(deps, key);
    onMirrored?.(key, outcomes);
  });
}
