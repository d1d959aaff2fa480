import { LRUCache } from 'lru-cache';
import { REVOKED_HOLDER } from '../api/lease.js';
import type { Millis } from '../election/types.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { StoredLease } from '../ports/store.js';
import { partitionKey } from '../store/keys.js';
import type { LeaseEvent } from './lease-rules.js';

/** What ingest last stored about a lease's holder. */
export interface HolderHint {
  readonly holder: string;
  /** The cluster whose Lease is the truth about the holder (its home). */
  readonly cluster: string;
  readonly observedRenewTime: Millis;
  /**
   * The record as ingest's own last write left it, or as read holding this very renewal: a renewal
   * whose deadline would move by no more than ingest's bound from it is not recorded
   * (docs/design.md, "Renewals kept by ingest").
   */
  readonly recorded?: StoredLease;
}

/**
 * A hint from a record as the table holds it (a run's start scan): the holder's last renewal that
 * ingest recorded in the holder's own cluster. A record without one (a decision not yet renewed
 * in its cluster, a holder renewing through our API) gives none.
 */
export function hintFromRecord(stored: StoredLease): HolderHint | undefined {
  const { holderIdentity: holder = '', holderCluster: cluster } = stored.record;
  // Our placeholder renews nothing: its Lease is judged (judgeHomeLease), never kept.
  if (holder === '' || holder === REVOKED_HOLDER) return undefined;
  if (cluster === undefined || stored.observedRenewTime === undefined) return undefined;
  return { holder, cluster, observedRenewTime: stored.observedRenewTime, recorded: stored };
}

/** Enough for every lease a coordinator serves; past it the least recently used hints go first. */
const DEFAULT_CAPACITY = 50_000;

/**
 * Ingest's memory of who holds each lease, so that a holder's renewal (most Lease events by far)
 * is one conditional write instead of a read and a write, or none while the recorded deadline is
 * within ingest's bound of the one it would record. Only hints: the writes' conditions
 * decide, and a stale or missing hint costs one failed write, or a read, before the general path.
 */
export class HolderHints {
  private readonly hints: LRUCache<string, HolderHint>;

  constructor(capacity = DEFAULT_CAPACITY) {
    this.hints = new LRUCache({ max: capacity });
  }

  get(key: LeaseKey): HolderHint | undefined {
    return this.hints.get(partitionKey(key));
  }

  set(key: LeaseKey, hint: HolderHint): void {
    this.hints.set(partitionKey(key), hint);
  }

  forget(key: LeaseKey): void {
    this.hints.delete(partitionKey(key));
  }

  get size(): number {
    return this.hints.size;
  }
}

/**
 * The holder renewing in the cluster it is recorded in is remembered, for renewByHint next time;
 * with the record itself when it holds this renewal (`holdsRenewal`).
 */
export function rememberHolder(
  hints: HolderHints | undefined,
  event: LeaseEvent,
  stored: StoredLease | undefined,
  holdsRenewal = false,
): void {
  const { cluster, key, observed } = event;
  const holder = observed.holderIdentity ?? '';
  if (holder !== '' && stored?.record.holderCluster === cluster && holder === stored.record.holderIdentity)
    hints?.set(key, {
      holder,
      cluster,
      observedRenewTime: observed.renewTime ?? 0,
      ...(holdsRenewal && { recorded: stored }),
    });
  else hints?.forget(key);
}
