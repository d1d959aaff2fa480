import { ValidationError } from '../errors.js';
import type { LeaseKey } from '../ports/lease-key.js';

/**
 * Key schema. One lease (later: one lease group) is one partition, so a single Query returns
 * everything an election step needs:
 *
 *   pk = LEASE#<scope>/<namespace>/<name>    scope: the cluster, or a lease group's clusters joined by +
 *   sk = LEASE                       the coordinator's record of the Lease, with term and version
 *   sk = CANDIDATE#<cluster>#<name>  one item per LeaseCandidate
 *   sk = TIMER                       when the lease is next due for a look (timer dedup)
 *
 *   pk = HISTORY#<scope>/<namespace>/<name>   the lease's decision history (history-keys.ts)
 *   pk = LOCK#<name>, sk = LOCK       a lock (one sweep at a time): not a lease, which scans skip and
 *                                    no stream filter passes (infra/stream-filters.json)
 *   pk = COVER#timers, sk = COVER     ingest's timer cover, per cluster (timer-cover.ts): likewise
 */
export const LEASE_SK = 'LEASE';
export const TIMER_SK = 'TIMER';
export const CANDIDATE_SK_PREFIX = 'CANDIDATE#';
export const LEASE_PK_PREFIX = 'LEASE#';
export const LOCK_SK = 'LOCK';
export const COVER_PK = 'COVER#timers';
export const COVER_SK = 'COVER';

export function lockPartitionKey(name: string): string {
  return `LOCK#${name}`;
}

export function partitionKey(key: LeaseKey): string {
  return `${LEASE_PK_PREFIX}${key.scope}/${key.namespace}/${key.name}`;
}

export function candidateSortKey(cluster: string, name: string): string {
  return `${CANDIDATE_SK_PREFIX}${cluster}#${name}`;
}

/** The lease a partition key names; ValidationError (naming `pk`) for a key that names none. */
export function leaseKeyFromPartition(pk: string): LeaseKey {
  const match = /^LEASE#([^/]+)\/([^/]+)\/([^/]+)$/.exec(pk);
  if (match === null)
    throw new ValidationError([
      { path: 'pk', message: `"${pk}" is not a lease partition key (LEASE#<scope>/<namespace>/<name>)` },
    ]);
  return { scope: match[1] as string, namespace: match[2] as string, name: match[3] as string };
}
