import type { DynamoDBRecord } from 'aws-lambda';
import type { LeaseKey } from '../lib/ports/lease-key.js';
import type { LeaseState } from '../lib/ports/store.js';

/** What a bench offers to wait on: the table's stream records as read, a drain of its consumers, a read. */
export interface StreamTap {
  onRecord(listener: (record: DynamoDBRecord) => void): () => void;
  /** Returns once `elect` and `mirror` have handled every record written so far. */
  drain(): Promise<void>;
  loadLease(key: LeaseKey): Promise<LeaseState>;
}

/** Long enough for a loaded machine; a coordinator that never stores the removal fails the figure. */
const SETTLE_LIMIT_MS = 30_000;

/**
 * Returns once the coordinator's table no longer holds a removed candidate and its stream consumers
 * have handled every change up to the read that showed it gone. An election trial starts only after
 * the previous one's clean-up: its removal sets off a step, a mirror pass, the stream's `elect`, on
 * the same cores, the same DynamoDB Local and, in process, the same event loop as the next trial,
 * and would slow it and the in-tree trial between them. The in-tree controller's own clean-up is done inside its
 * apiserver within a millisecond or two.
 */
export async function removalSettled(
  tap: StreamTap,
  key: LeaseKey,
  cluster: string,
  candidate: string,
): Promise<void> {
  let recordSeen: (() => void) | undefined;
  const stop = tap.onRecord(() => recordSeen?.());
  let limit: NodeJS.Timeout | undefined;
  const outOfTime = new Promise<never>((_, reject) => {
    limit = setTimeout(
      () =>
        reject(
          new Error(
            `${cluster}/${candidate}: not settled in ${SETTLE_LIMIT_MS} ms (the table still held it from ${key.name}, or the stream consumers did not finish)`,
          ),
        ),
      SETTLE_LIMIT_MS,
    );
  });
  const holds = async () =>
    (await tap.loadLease(key)).candidates.some((c) => c.cluster === cluster && c.name === candidate);
  try {
    for (;;) {
      // Listening before the look: a removal stored after it still wakes the next one.
      const next = new Promise<void>((resolve) => {
        recordSeen = resolve;
      });
      const held = await Promise.race([holds(), outOfTime]);
      // The drain after the look: a removal the look found gone is handled before the trial starts.
      await Promise.race([tap.drain(), outOfTime]);
      if (!held) return;
      // Not stored yet: its stream record (the runner polls every 250 ms) is the next chance.
      await Promise.race([next, outOfTime]);
    }
  } finally {
    clearTimeout(limit);
    stop();
  }
}
