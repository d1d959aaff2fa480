import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { collectableCandidates } from '../election/liveness.js';
import { reconcileStep } from '../election/reconcile.js';
import type { ElectionStep } from '../election/types.js';
import { ConflictError } from '../errors.js';
import { holderRenewedUnseen } from './confirm-expiry.js';
import type {
  Clock,
  CoordinatorStore,
  HolderLeaseReader,
  LeaseKey,
  LeaseResolver,
  TimerQueue,
} from './ports.js';

export interface CoordinatorDeps {
  readonly store: CoordinatorStore;
  readonly timers: TimerQueue;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Which lease (and lease group) a cluster's lease name belongs to. */
  readonly leases: LeaseResolver;
  /** Reads a holder's own Lease before a takeover (see holderRenewedUnseen); absent without clusters. */
  readonly readHolderLease?: HolderLeaseReader;
  /** Who may call the HTTP API for which cluster. */
  readonly callers?: (cluster: string, request: APIGatewayProxyEventV2) => void;
}

/** A lost compare-and-set means someone else decided first: read again and decide again. */
const CONFLICT_RETRIES = 3;

/**
 * One reconcile of one lease: read everything in one query, collect expired candidates, take
 * one election step, write it conditionally, and arm the lease's timer for its next deadline.
 * Nothing is remembered between calls (DESIGN.md rule 1), so replays and concurrent calls are safe.
 */
export async function reconcileLease(deps: CoordinatorDeps, key: LeaseKey): Promise<ElectionStep> {
  return (await reconcileLeaseContended(deps, key)).step;
}

export interface ReconcileOutcome {
  readonly step: ElectionStep;
  /** A compare-and-set was lost on the way: someone else wrote a decision for this lease meanwhile. */
  readonly contended: boolean;
}

/** reconcileLease, also telling whether another writer decided this lease at the same time. */
export async function reconcileLeaseContended(
  deps: CoordinatorDeps,
  key: LeaseKey,
): Promise<ReconcileOutcome> {
  for (let attempt = 0; ; attempt++) {
    try {
      return { step: await reconcileOnce(deps, key), contended: attempt > 0 };
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= CONFLICT_RETRIES) throw error;
      deps.logger.debug('lost a compare-and-set; deciding again', { lease: key, attempt });
    }
  }
}

async function reconcileOnce(deps: CoordinatorDeps, key: LeaseKey): Promise<ElectionStep> {
  const { store, timers, clock, logger } = deps;
  const now = clock();
  const state = await store.loadLease(key);
  // Candidates read from a cluster are collected there first, by the sweep (lib/sync/gc.ts), so
  // that ingest does not bring them back; the table copy of an HTTP candidate goes here.
  const expired = collectableCandidates(state.candidates, now).filter((c) => c.resourceVersion === undefined);
  if (expired.length > 0) {
    await store.deleteCandidates(key, expired);
    logger.info('collected expired candidates', { lease: key, candidates: expired.map((c) => c.name) });
  }
  const step = reconcileStep({ lease: state.lease?.record, candidates: state.candidates, now });
  if (step.action === 'takeover' && (await holderRenewedUnseen(deps, key, state.lease, now)))
    // The holder wrote first, as in a lost compare-and-set: read again and decide again.
    throw new ConflictError(`lease ${key.namespace}/${key.name}: the holder renewed since it was read`);
  if (step.ping.length > 0) await store.pingCandidates(key, step.ping, now);
  if (step.write !== null) await store.writeLease(key, step.write, state.lease?.version, now);
  if (step.requeueAfterMs > 0) {
    const dueAt = now + step.requeueAfterMs;
    if (await store.armTimer(key, dueAt, now)) await timers.deliverAt(key, dueAt, now);
  }
  if (step.action !== 'none') {
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
  return step;
}
