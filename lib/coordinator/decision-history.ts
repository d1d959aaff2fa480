import type { Logger } from '@aws-lambda-powertools/logger';
import { type DecisionRecord, decisionRecord } from '../election/decision-record.js';
import { isLeaseExpired } from '../election/liveness.js';
import type { Candidate, ElectionStep, Millis } from '../election/types.js';
import type { CoordinatorDeps } from '../ports/coordinator.js';
import type { DecisionHistory } from '../ports/history.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { LeaseState } from '../ports/store.js';

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

/**
 * The decision's history record: its number is reserved alongside the
 * decision's write and the record stored once that write has succeeded, so it runs beside the
 * timer's arm-and-send rather than after it. A ping names only the candidates this step pinged:
 * two triggers that read the lease together both decide the same ping, and the one whose ping
 * writes all lost to the other's pinged nobody, so records nothing. Best-effort: it never fails the step.
 */
export function recordOnceWritten(
  deps: CoordinatorDeps,
  key: LeaseKey,
  { state, step, now }: { state: LeaseState; step: ElectionStep; now: Millis },
  writes: { pinging?: Promise<readonly Candidate[]>; writing?: Promise<unknown> },
): Promise<void> | undefined {
  if (deps.history === undefined || (step.write === null && step.ping.length === 0)) return undefined;
  if (isKeepAlive(step, state, now)) return undefined;
  const store = startRecording(deps.history, deps.logger, key, now);
  return Promise.all([writes.pinging, writes.writing]).then(
    ([pinged = []]) => {
      if (step.write === null && pinged.length === 0) return store(undefined);
      const done = { ...step, ping: pinged };
      return store(decisionRecord(done, state.lease?.record, state.candidates, now));
    },
    () => store(undefined),
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
