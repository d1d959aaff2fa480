import type { Logger } from '@aws-lambda-powertools/logger';
import { PREFERRED_HOLDER_ANNOTATION, REVOKED_HOLDER } from '../api/lease.js';
import { decisionMessage, preemptionRanking, voteRanking } from '../election/explain.js';
import type { Candidate, LeaseRecord, Millis } from '../election/types.js';
import type { ClusterPort, LeaseEvent, RawObject } from '../ports/cluster.js';
import type { LeaseKey } from '../ports/lease-key.js';

/** What one mirror write changed in a cluster's Lease: the Lease before it, and what was written. */
export interface LeaseWrite {
  readonly before: RawObject | undefined;
  readonly holder: unknown;
  readonly preferredHolder: string | undefined;
  readonly term: number;
  /** The Lease as the apiserver stored it, for the Event's uid. */
  readonly stored: RawObject | undefined;
}

/**
 * The Event a mirror write earns, as client-go records one on its Lease when it becomes leader:
 * a holder change (`LeaderElection`), or a holder asked to yield, revoked, or no longer asked to
 * yield (`LeaderPreemption`).
 * Undefined for a write that changed neither (a renewal copied into a group's other clusters, the
 * term or strategy restored). Pure.
 */
export function leaseEventFor(
  key: LeaseKey,
  write: LeaseWrite,
  record: LeaseRecord,
  candidates: readonly Candidate[],
  now: Millis,
): LeaseEvent | undefined {
  const spec = (write.before?.spec ?? {}) as Record<string, unknown>;
  const before = { holder: spec.holderIdentity, preferred: preferredOf(write.before) };
  const stored = write.stored?.metadata as { uid?: string; resourceVersion?: string } | undefined;
  const lease = {
    namespace: key.namespace,
    name: key.name,
    ...(stored?.uid !== undefined && { uid: stored.uid }),
    ...(stored?.resourceVersion !== undefined && { resourceVersion: stored.resourceVersion }),
  };
  const ranking = voteRanking(candidates, record, now);
  const preemption = preemptionRanking(candidates, record, now);
  if (write.holder === REVOKED_HOLDER && before.holder !== REVOKED_HOLDER)
    return {
      lease,
      reason: 'LeaderPreemption',
      action: 'Revoke',
      at: now,
      note: `${decisionMessage(`Revoked ${record.holderIdentity} for`, record.preferredHolder ?? 'a better candidate', write.term, preemption)}; this cluster drops preferredHolder, so the successor is named one lease duration after its last renewal`,
    };
  if (typeof write.holder === 'string' && write.holder !== '' && write.holder !== before.holder)
    return {
      lease,
      reason: 'LeaderElection',
      action: 'Elect',
      at: now,
      note: decisionMessage('Elected', write.holder, write.term, ranking),
    };
  if (write.preferredHolder !== undefined && write.preferredHolder !== before.preferred)
    return {
      lease,
      reason: 'LeaderPreemption',
      action: 'Preempt',
      at: now,
      note: decisionMessage(
        `Asked ${record.holderIdentity} to yield to`,
        write.preferredHolder,
        write.term,
        preemption,
      ),
    };
  if (withdrawn(write, before.preferred))
    return {
      lease,
      reason: 'LeaderPreemption',
      action: 'Withdraw',
      at: now,
      note: `Kept ${record.holderIdentity} (term ${write.term}): no longer asked to yield to ${before.preferred}`,
    };
  return undefined;
}

/**
 * The write takes back the preference the Lease showed, from a holder it keeps: an unheld Lease whose
 * preference goes (a released holder's, dropped when the candidates move to a strategy we do not
 * elect for) keeps nobody.
 */
function withdrawn(write: LeaseWrite, preferredBefore: unknown): preferredBefore is string {
  return (
    write.preferredHolder === undefined &&
    typeof preferredBefore === 'string' &&
    preferredBefore !== '' &&
    typeof write.holder === 'string' &&
    write.holder !== '' &&
    write.holder !== REVOKED_HOLDER
  );
}

function preferredOf(lease: RawObject | undefined): unknown {
  return (
    lease?.metadata?.annotations?.[PREFERRED_HOLDER_ANNOTATION] ??
    ((lease?.spec ?? {}) as Record<string, unknown>).preferredHolder
  );
}

/** Records the Event, best-effort: one that fails is logged and holds up nothing. */
export async function recordLeaseEvent(
  logger: Logger,
  client: ClusterPort,
  key: LeaseKey,
  event: LeaseEvent | undefined,
): Promise<void> {
  if (event === undefined) return;
  try {
    await client.recordEvent(event);
  } catch (error) {
    logger.warn('cannot record an Event on the Lease; the Lease itself is written', {
      cluster: client.name,
      lease: key,
      reason: event.reason,
      error: error as Error,
    });
  }
}
