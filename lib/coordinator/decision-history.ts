import type { Logger } from '@aws-lambda-powertools/logger';
import { type DecisionRecord, decisionRecord } from '../election/decision-record.js';
import { isLeaseExpired } from '../election/liveness.js';
import type { Candidate, ElectionStep, Millis } from '../election/types.js';
import type { CoordinatorDeps } from '../ports/coordinator.js';
import type { DecisionHistory } from '../ports/history.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { LeaseState } from '../ports/store.js';

/**
 * Stores a decision's record: takes the lease's next record number, then writes the record under
 * it. Never throws: a failure is logged, as the decision does not depend on its record.
 */
async function storeRecord(
  history: DecisionHistory,
  logger: Logger,
  key: LeaseKey,
  now: Millis,
  record: DecisionRecord,
): Promise<void> {
  const seq = await history.reserve(key, now).catch((error: unknown) => {
    logger.warn('cannot reserve a decision history record', { lease: key, error: error as Error });
    return undefined;
  });
  if (seq === undefined) return;
  await history.append(key, seq, record).catch((error: unknown) => {
    logger.warn('cannot store a decision history record', { lease: key, error: error as Error });
  });
}

/**
 * The decision's history record, stored once the step's writes are in and the mirror pass they
 * started has ended (carryOut). Its number is taken only then, so neither of its two writes
 * competes with the decision's own write or its Lease write for the table and the CPU, and a step
 * whose write fails takes no number (docs/design.md, "Decision history"). The records are listed
 * by decision time, not number (newestFirst). A ping names only the candidates this step pinged:
 * two triggers that read the lease together both decide the same ping, and the one whose ping
 * writes all lost to the other's pinged nobody, so records nothing. Best-effort: it never fails
 * the step.
 */
export function recordOnceWritten(
  deps: CoordinatorDeps,
  key: LeaseKey,
  { state, step, now }: { state: LeaseState; step: ElectionStep; now: Millis },
  writes: { pinging?: Promise<readonly Candidate[]>; writing?: Promise<unknown> },
): Promise<void> | undefined {
  const { history, logger } = deps;
  if (history === undefined || (step.write === null && step.ping.length === 0)) return undefined;
  if (isKeepAlive(step, state, now)) return undefined;
  return Promise.all([writes.pinging, writes.writing]).then(
    ([pinged = []]) => {
      // Undefined for a ping whose writes all lost: it decided nothing.
      const record = decisionRecord({ ...step, ping: pinged }, state.lease?.record, state.candidates, now);
      return record === undefined ? undefined : storeRecord(history, logger, key, now, record);
    },
    // The step's write or pings failed: carryOut throws that, and no number is taken.
    () => undefined,
  );
}

/**
 * A ping that only keeps the candidate a live holder is asked to yield to counting as alive
 * (refreshPreferred, lib/election/pings.ts): it decides nothing. Under a revoke it comes about every
 * 1.5 s for a lease duration, and recorded, it would push the preemption's own record, the one that
 * says why the leader changes, out of the lease's ten. Once the lease has run out, a ping is the
 * election's own and is recorded.
 */
function isKeepAlive(step: ElectionStep, state: LeaseState, now: Millis): boolean {
  const record = state.lease?.record;
  const preferred = record?.preferredHolder;
  return (
    step.write === null &&
    record !== undefined &&
    !isLeaseExpired(record, now) &&
    preferred !== undefined &&
    step.ping.length > 0 &&
    step.ping.every((c) => c.name === preferred)
  );
}
