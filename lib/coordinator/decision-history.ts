import type { Logger } from '@aws-lambda-powertools/logger';
import type { DecisionRecord } from '../election/decision-record.js';
import type { Millis } from '../election/types.js';
import type { DecisionHistory } from '../ports/history.js';
import type { LeaseKey } from '../ports/lease-key.js';

/**
 * Starts recording a decision about to be written: reserves its number now, and returns the step
 * that stores the record once the decision is known to have been written. Never throws: a failure
 * is logged, as the decision does not depend on its record.
 */
export function startRecording(
  history: DecisionHistory | undefined,
  logger: Logger,
  key: LeaseKey,
  now: Millis,
): (record: DecisionRecord | undefined) => Promise<void> {
  if (history === undefined) return async () => {};
  const reserved = history.reserve(key, now).catch((error: unknown) => {
    logger.warn('cannot reserve a decision history record', { lease: key, error: error as Error });
    return undefined;
  });
  return async (record) => {
    const seq = await reserved;
    if (seq === undefined || record === undefined) return;
    await history.append(key, seq, record).catch((error: unknown) => {
      logger.warn('cannot store a decision history record', { lease: key, error: error as Error });
    });
  };
}
