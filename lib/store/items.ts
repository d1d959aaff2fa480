import type { LeaseCandidateObject } from '../api/leasecandidate.js';
import { CANDIDATE_VALID_MS } from '../election/timing.js';
import {
  type CandidateApiVersion,
  LEASE_SPEC_FIELDS,
  type LeaseRecord,
  type Millis,
} from '../election/types.js';
import { clustersOf, type LeaseKey } from '../ports/lease-key.js';
import type { LeaseState, StoredCandidate, StoredLease } from '../ports/store.js';
import { CANDIDATE_SK_PREFIX, LEASE_SK, TIMER_SK } from './keys.js';

/** Item attributes as stored. Times are epoch milliseconds; expiresAt is epoch seconds (TTL). */
export interface CandidateItem {
  pk: string;
  sk: string;
  kind: 'candidate';
  cluster: string;
  namespace: string;
  name: string;
  leaseName: string;
  apiVersion: CandidateApiVersion;
  binaryVersion: string;
  emulationVersion: string;
  strategy: string;
  preferredStrategies?: string[];
  /** Everything that makes the candidate a different candidate; compared by the renewal fast path. */
  specKey: string;
  createdAt: Millis;
  /** renewTime as the candidate wrote it (its clock). */
  renewTime: Millis;
  /** When the coordinator stored that renewal (its clock): the liveness the election uses. */
  renewedAt: Millis;
  pingTime?: Millis;
  /** Present while a ping waits for its ack; the next heartbeat removes it (and wakes elect). */
  awaitingAck?: boolean;
  /** The object's resourceVersion in its cluster, for preconditioned deletes (GC). */
  resourceVersion?: string;
  /** What the last write changed: "spec" wakes elect, "renew" does not. */
  change: 'spec' | 'renew' | 'ping';
  expiresAt: number;
}

export type LeaseChange = 'decision' | 'renewal' | 'renewal-local' | 'release' | 'observed' | 'deferred';

/** A renewal wakes the mirror only when other clusters show the same Lease (a lease group). */
export function renewalChange(key: LeaseKey): 'renewal' | 'renewal-local' {
  return clustersOf(key).length > 1 ? 'renewal' : 'renewal-local';
}

export interface LeaseItem {
  pk: string;
  sk: string;
  kind: 'lease';
  namespace: string;
  name: string;
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: Millis;
  renewTime?: Millis;
  leaseTransitions?: number;
  strategy?: string;
  preferredHolder?: string;
  term: number;
  holderCluster?: string;
  releasedHolder?: string;
  releasedAt?: Millis;
  preferenceWithdrawnAt?: Millis;
  releasedYielding?: boolean;
  version: number;
  /**
   * What the last write was; the stream filters use it. "decision" comes from elect; "renewal",
   * "renewal-local" and "release" from the holder. "renewal-local" is a renewal seen in the only
   * cluster of its lease: no other cluster shows the Lease, so it wakes nothing. "deferred" (a
   * takeover held off while the holder's cluster is out of reach) wakes nothing either.
   */
  change: LeaseChange;
  /** The last renewTime seen on the holder's own Lease (its clock), to order observations. */
  observedRenewTime?: Millis;
  /** No takeover before this time: the holder's cluster was out of reach (StoredLease). */
  takeoverNotBefore?: Millis;
  /** Set while the holder's cluster does not answer a takeover's look (StoredLease). */
  holderClusterOut?: true;
  updatedAt: Millis;
}

/**
 * TTL removes candidate items an hour after the 30-minute expiry rule has already excluded
 * them: it is garbage collection only, never the rule itself.
 */
export function candidateTtl(renewedAt: Millis): number {
  return Math.ceil((renewedAt + CANDIDATE_VALID_MS) / 1000) + 3600;
}

export function specKeyOf(c: LeaseCandidateObject): string {
  return JSON.stringify([
    c.apiVersion,
    c.namespace,
    c.leaseName,
    c.binaryVersion,
    c.emulationVersion,
    c.strategy,
    c.preferredStrategies ?? null,
  ]);
}

export function candidateFromItem(item: CandidateItem): StoredCandidate {
  return {
    cluster: item.cluster,
    namespace: item.namespace,
    name: item.name,
    leaseName: item.leaseName,
    apiVersion: item.apiVersion,
    binaryVersion: item.binaryVersion,
    emulationVersion: item.emulationVersion,
    strategy: item.strategy,
    ...(item.preferredStrategies !== undefined && { preferredStrategies: item.preferredStrategies }),
    creationTimestamp: item.createdAt,
    renewTime: item.renewedAt,
    sentRenewTime: item.renewTime,
    ...(item.pingTime !== undefined && { pingTime: item.pingTime }),
    ...(item.resourceVersion !== undefined && { resourceVersion: item.resourceVersion }),
    ...(item.awaitingAck === true && { awaitingAck: true }),
  };
}

/** The record's fields that are not Lease spec fields, stored beside them. */
const RECORD_EXTRA_FIELDS = [
  'holderCluster',
  'releasedHolder',
  'releasedAt',
  'preferenceWithdrawnAt',
  'releasedYielding',
] as const;

export function leaseFromItem(item: LeaseItem): StoredLease {
  const record: Record<string, unknown> = { term: item.term };
  for (const field of LEASE_SPEC_FIELDS) if (item[field] !== undefined) record[field] = item[field];
  for (const field of RECORD_EXTRA_FIELDS) if (item[field] !== undefined) record[field] = item[field];
  return {
    record: record as unknown as LeaseRecord,
    version: item.version,
    ...(item.observedRenewTime !== undefined && { observedRenewTime: item.observedRenewTime }),
    ...(item.takeoverNotBefore !== undefined && { takeoverNotBefore: item.takeoverNotBefore }),
    ...(item.holderClusterOut === true && { holderClusterOut: true as const }),
  };
}

/** The record's fields, without undefined values (DynamoDB has no undefined). */
export function recordAttributes(record: LeaseRecord): Partial<LeaseItem> {
  const attributes: Record<string, unknown> = { term: record.term };
  for (const field of LEASE_SPEC_FIELDS) if (record[field] !== undefined) attributes[field] = record[field];
  for (const field of RECORD_EXTRA_FIELDS) if (record[field] !== undefined) attributes[field] = record[field];
  return attributes as Partial<LeaseItem>;
}

/** A lease partition's items, as a Query (or a Scan's run of one partition) returns them. */
export function leaseStateFromItems(items: Iterable<Record<string, unknown>>): LeaseState {
  let lease: StoredLease | undefined;
  let timerDueAt: Millis | undefined;
  const candidates: StoredCandidate[] = [];
  for (const item of items) {
    const sk = String(item.sk);
    if (sk === LEASE_SK) lease = leaseFromItem(item as unknown as LeaseItem);
    else if (sk.startsWith(CANDIDATE_SK_PREFIX))
      candidates.push(candidateFromItem(item as unknown as CandidateItem));
    else if (sk === TIMER_SK && typeof item.dueAt === 'number') timerDueAt = item.dueAt;
  }
  return { lease, candidates, ...(timerDueAt !== undefined && { timerDueAt }) };
}
