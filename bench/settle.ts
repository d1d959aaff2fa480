import type { DynamoDBRecord } from 'aws-lambda';
import type { LeaseKey } from '../lib/ports/lease-key.js';
import { candidateSortKey, partitionKey } from '../lib/store/keys.js';

/** What a bench offers to wait on: the table's stream records as read, and a drain of its consumers. */
export interface StreamTap {
  onRecord(listener: (record: DynamoDBRecord) => void): () => void;
  /** Returns once `elect` and `mirror` have handled every record written so far. */
  drain(): Promise<void>;
}

/** Long enough for a loaded machine; a coordinator that never stores the removal fails the figure. */
const SETTLE_LIMIT_MS = 30_000;

/**
 * Returns once the coordinator has stored a removed candidate's removal (its REMOVE record shows in
 * the stream) and its stream consumers have handled every change up to then. An election trial
 * starts only after the previous one's clean-up: its removal sets off a step, a mirror pass, the
 * stream's `elect`, on the same cores, the same DynamoDB Local and, in process, the same event loop
 * as the next trial, and would slow it and the in-tree trial between them. The in-tree
 * controller's own clean-up is done inside its apiserver within a millisecond or two.
 */
export async function removalSettled(
  tap: StreamTap,
  key: LeaseKey,
  cluster: string,
  candidate: string,
): Promise<void> {
  const pk = partitionKey(key);
  const sk = candidateSortKey(cluster, candidate);
  let removed = false;
  let recordSeen: (() => void) | undefined;
  const stop = tap.onRecord((record) => {
    const keys = record.dynamodb?.Keys;
    if (record.eventName === 'REMOVE' && keys?.pk?.S === pk && keys?.sk?.S === sk) removed = true;
    recordSeen?.();
  });
  let limit: NodeJS.Timeout | undefined;
  const outOfTime = new Promise<never>((_, reject) => {
    limit = setTimeout(
      () => reject(new Error(`the coordinator did not store the removal of ${sk} in ${pk}`)),
      SETTLE_LIMIT_MS,
    );
  });
  try {
    for (;;) {
      await Promise.race([tap.drain(), outOfTime]);
      if (removed) return;
      // Not stored yet: the stream's next record (the runner polls every 250 ms) is the next chance,
      // unless the runner's own poll read the removal since the drain returned.
      const next = new Promise<void>((resolve) => {
        recordSeen = resolve;
        if (removed) resolve();
      });
      await Promise.race([next, outOfTime]);
    }
  } finally {
    clearTimeout(limit);
    stop();
  }
}
