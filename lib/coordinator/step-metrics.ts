import type { Logger } from '@aws-lambda-powertools/logger';
import { holderOf, leaseDeadline } from '../election/liveness.js';
import { unansweredPings } from '../election/pings.js';
import type { Candidate, ElectionStep, LeaseRecord, Millis } from '../election/types.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { Metrics } from '../ports/metrics.js';

/** One reconcile step as it was written: what the lease was, what the step did, when. */
export interface WrittenStep {
  readonly before: LeaseRecord | undefined;
  readonly step: ElectionStep;
  /** Candidates whose pingTime the step set (some may have renewed first and not been pinged). */
  readonly pinged: readonly Candidate[];
  readonly candidates: readonly Candidate[];
  /** When the step's writes are dated. */
  readonly now: Millis;
}

/**
 * Reports a step whose writes all went in. Only a step that won its conditional writes is
 * reported, so a decision that elect, requeue and ingest's fast path all take counts once: the
 * others lose the compare-and-set and report nothing.
 */
export function reportWrittenStep(metrics: Metrics, key: LeaseKey, written: WrittenStep): void {
  const { before, step, now } = written;
  const scope = key.scope;
  if (written.pinged.length > 0) metrics.record('PingsSent', written.pinged.length, scope);
  const after = step.write;
  if (after === null) return;
  // Only a preference written: an amendment that takes one back, or sets the strategy, asks nobody to yield.
  if (
    step.action === 'preempt' &&
    after.preferredHolder !== undefined &&
    after.preferredHolder !== before?.preferredHolder
  )
    metrics.record('PreemptionsRequested', 1, scope);
  if (after.term > (before?.term ?? 0)) metrics.record('HolderChanges', 1, scope);
  const holder = holderOf(after);
  const previous = holderOf(before);
  // A live holder is never overwritten (rule 3): a holder named where there was none, or another
  // one, is an election.
  if (holder === undefined || holder === previous) return;
  metrics.record('Elections', 1, scope);
  const unanswered = unansweredPings(written.candidates, now).length;
  if (unanswered > 0) metrics.record('PingsUnanswered', unanswered, scope);
  if (before?.preferredHolder !== undefined && before.preferredHolder === holder) {
    metrics.record('PreemptionsCompleted', 1, scope);
    return;
  }
  // Taken from a holder that neither released nor was preempted: its lease ran out.
  const deadline = before === undefined || previous === undefined ? undefined : leaseDeadline(before);
  if (deadline === undefined) return;
  metrics.record('Failovers', 1, scope);
  metrics.record('FailoverDuration', Math.max(0, now - deadline), scope);
}

/** The step in the log, when it did anything. */
export function logStep(logger: Logger, key: LeaseKey, step: ElectionStep): void {
  if (step.action === 'none') return;
  logger.info('election step', {
    lease: key,
    action: step.action,
    holder: step.write?.holderIdentity,
    preferredHolder: step.write?.preferredHolder,
    term: step.write?.term,
    ping: step.ping.map((c) => c.name),
    error: step.error,
  });
}
