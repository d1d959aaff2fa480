import type { LeaseCandidateObject } from '../api/leasecandidate.js';
import { CANDIDATE_VALID_MS } from '../election/timing.js';
import type { Candidate, Millis } from '../election/types.js';
import { StaleHeartbeatError } from '../errors.js';
import type { LeaseKey } from '../ports/lease-key.js';
import {
  candidateIsNew,
  candidateNotRenewedOrPingedSinceRead,
  candidateNotRenewedSince,
  candidateStillExpired,
  candidateUnchangedSinceRead,
  renewalWithSameSpec,
} from './conditions.js';
import { type CandidateItem, candidateFromItem, candidateTtl, specKeyOf } from './items.js';
import { candidateSortKey, partitionKey } from './keys.js';
import type { WritePlan } from './write-plan.js';

/**
 * The candidate items' writes, decided from what was read and `now`: heartbeats, pings, and the
 * removals of expired and deleted candidates. Pure; the adapters carry the plans out.
 */

export type Heartbeat = LeaseCandidateObject & { renewTime: Millis };

/**
 * The common heartbeat, tried first without reading: one conditional update (same spec, newer
 * renewTime, not expired) that returns the candidate as written. When its condition fails, the
 * item it returns is what planHeartbeatPut decides from.
 */
export function planHeartbeatRenewal(
  key: LeaseKey,
  cluster: string,
  heartbeat: Heartbeat,
  now: Millis,
): WritePlan {
  return {
    request: 'putHeartbeat:renew',
    pk: partitionKey(key),
    sk: candidateSortKey(cluster, heartbeat.name),
    condition: renewalWithSameSpec(heartbeat.renewTime, specKeyOf(heartbeat), now - CANDIDATE_VALID_MS),
    kind: 'update',
    set: {
      renewTime: heartbeat.renewTime,
      renewedAt: now,
      change: 'renew',
      expiresAt: candidateTtl(now),
      ...(heartbeat.resourceVersion !== undefined && { resourceVersion: heartbeat.resourceVersion }),
    },
    // The heartbeat acknowledges any ping (its removal wakes the election).
    remove: ['awaitingAck'],
    returns: 'new',
  };
}

/**
 * A new candidate, a changed spec or a return from expiry: the whole item, put only over the
 * item `stored` (as the failed renewal returned it). A heartbeat no newer than the stored one is
 * refused with StaleHeartbeatError, at no extra read.
 */
export function planHeartbeatPut(
  key: LeaseKey,
  cluster: string,
  heartbeat: Heartbeat,
  stored: CandidateItem | undefined,
  now: Millis,
): WritePlan & { readonly item: CandidateItem } {
  if (stored !== undefined && stored.renewTime >= heartbeat.renewTime) {
    throw new StaleHeartbeatError(
      `heartbeat renewTime ${new Date(heartbeat.renewTime).toISOString()} is not newer than the stored ${new Date(stored.renewTime).toISOString()}`,
      candidateFromItem(stored),
    );
  }
  const item = candidateItem(key, cluster, heartbeat, stored, now);
  return {
    request: 'putHeartbeat:put',
    pk: item.pk,
    sk: item.sk,
    condition: stored === undefined ? candidateIsNew() : candidateUnchangedSinceRead(stored.renewTime),
    kind: 'put',
    item,
  };
}

function candidateItem(
  key: LeaseKey,
  cluster: string,
  heartbeat: Heartbeat,
  stored: CandidateItem | undefined,
  now: Millis,
): CandidateItem {
  return {
    pk: partitionKey(key),
    sk: candidateSortKey(cluster, heartbeat.name),
    kind: 'candidate',
    cluster,
    namespace: heartbeat.namespace,
    name: heartbeat.name,
    leaseName: heartbeat.leaseName,
    apiVersion: heartbeat.apiVersion,
    binaryVersion: heartbeat.binaryVersion,
    emulationVersion: heartbeat.emulationVersion,
    strategy: heartbeat.strategy,
    ...(heartbeat.preferredStrategies !== undefined && {
      preferredStrategies: [...heartbeat.preferredStrategies],
    }),
    specKey: specKeyOf(heartbeat),
    // Creation time is set once; the candidate's age is what the strategy orders by.
    createdAt: stored?.createdAt ?? heartbeat.creationTimestamp ?? now,
    renewTime: heartbeat.renewTime,
    // First sight of a candidate: its own renewTime is all we know of its liveness, and at
    // the 30-minute scale of candidate expiry clock skew does not matter. Later renewals are
    // timed on our clock alone.
    renewedAt: stored === undefined ? Math.min(now, heartbeat.renewTime) : now,
    ...(heartbeat.resourceVersion !== undefined && { resourceVersion: heartbeat.resourceVersion }),
    change: 'spec',
    expiresAt: candidateTtl(now),
  };
}

/** A ping of a candidate as read: it is to acknowledge with a heartbeat. */
export function planPing(key: LeaseKey, c: Candidate, now: Millis): WritePlan {
  return {
    request: 'pingCandidates',
    pk: partitionKey(key),
    sk: candidateSortKey(c.cluster, c.name),
    condition: candidateNotRenewedOrPingedSinceRead(c.renewTime ?? -1, c.pingTime ?? -1),
    kind: 'update',
    set: { pingTime: now, awaitingAck: true, change: 'ping' },
    returns: 'new',
  };
}

/** Garbage collection of a candidate judged expired as read. */
export function planDeleteExpired(key: LeaseKey, c: Candidate): WritePlan {
  return {
    request: 'deleteCandidates',
    pk: partitionKey(key),
    sk: candidateSortKey(c.cluster, c.name),
    condition: candidateStillExpired(c.renewTime ?? -1),
    kind: 'delete',
  };
}

/** A candidate whose object was deleted from its cluster (at its `renewTime`, its clock). */
export function planRemoveCandidate(
  key: LeaseKey,
  cluster: string,
  name: string,
  renewTime: Millis,
): WritePlan {
  return {
    request: 'removeCandidate',
    pk: partitionKey(key),
    sk: candidateSortKey(cluster, name),
    condition: candidateNotRenewedSince(renewTime),
    kind: 'delete',
  };
}
