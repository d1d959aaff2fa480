import { parseLease, TERM_ANNOTATION } from '../../lib/api/lease.js';
import { isLeaseExpired, leaseDeadline } from '../../lib/election/liveness.js';
import { CANDIDATE_VALID_MS } from '../../lib/election/timing.js';
import type { Millis } from '../../lib/election/types.js';
import type { RawObject } from '../../lib/ports/cluster.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import { type CandidateItem, type LeaseItem, leaseFromItem } from '../../lib/store/items.js';
import { LEASE_SK, partitionKey } from '../../lib/store/keys.js';
import type { InMemoryCluster } from './in-memory-cluster.js';
import type { InMemoryTable, TableItem } from './in-memory-store.js';

/**
 * The safety invariants of the coordinator, checked on what an in-memory table and in-memory
 * clusters recorded. Each returns the violations it found, described for a failing test.
 */

const when = (at: Millis) => new Date(at).toISOString();

function holderIn(item: TableItem | undefined): string | undefined {
  const holder = (item as LeaseItem | undefined)?.holderIdentity;
  return holder ? holder : undefined;
}

function clusterHolder(lease: RawObject | undefined): string | undefined {
  const holder = (lease?.spec as { holderIdentity?: unknown } | undefined)?.holderIdentity;
  return typeof holder === 'string' && holder !== '' ? holder : undefined;
}

function isLeaseOf(key: LeaseKey) {
  return (w: { kind: string; namespace: string; name: string }) =>
    w.kind === 'Lease' && w.namespace === key.namespace && w.name === key.name;
}

/**
 * The holder's own last write to its Lease in its own cluster before `ordinal` was its release (the
 * Lease left empty): it stopped leading then, and only a write of its own could make it lead again.
 * A takeover written in place of the release (lib/sync/release-takeover.ts) replaces a record whose
 * holder has already stopped leading, and so does one whose fence (FENCED_HOLDER) went over the
 * release first: the last write there is then ours, but the holder's own is still the release.
 */
function letGoInItsCluster(
  clusters: readonly InMemoryCluster[],
  key: LeaseKey,
  holder: string,
  holderCluster: string | undefined,
  ordinal: number,
): boolean {
  const home = clusters.find((c) => c.name === (holderCluster ?? key.scope.split('+')[0]));
  const own = home?.history.filter((w) => isLeaseOf(key)(w) && w.ordinal < ordinal && w.by === holder) ?? [];
  const last = own[own.length - 1];
  return last?.object !== undefined && clusterHolder(last.object) === undefined;
}

/**
 * The renewal on record was committed in the holder's own cluster one lease duration or more before
 * `at`: the first write there showing that holder with that renewTime. A process that saw it then
 * (ingest's first sighting, lib/sync/renewal-sightings.ts) may take the holder over although a
 * later record of the same renewal, dated when another process saw it, is not expired yet.
 */
function renewalOnRecordExpired(
  clusters: readonly InMemoryCluster[],
  key: LeaseKey,
  item: LeaseItem,
  at: Millis,
): boolean {
  const { record, observedRenewTime } = leaseFromItem(item);
  if (observedRenewTime === undefined) return false;
  const home = clusters.find((c) => c.name === (record.holderCluster ?? key.scope.split('+')[0]));
  const committed = home?.history.find((w) => {
    if (!isLeaseOf(key)(w) || w.object === undefined) return false;
    const shown = parseLease(w.object).record;
    return shown.holderIdentity === record.holderIdentity && shown.renewTime === observedRenewTime;
  });
  if (committed?.object === undefined) return false;
  const shownSeconds = parseLease(committed.object).record.leaseDurationSeconds ?? 0;
  const seconds = Math.max(record.leaseDurationSeconds ?? 0, shownSeconds);
  return committed.at + seconds * 1000 < at;
}

/**
 * (a) No two different unexpired holders of one lease. A holder is unexpired until the last
 * renewal the coordinator recorded for it plus its leaseDurationSeconds, and no longer than until
 * the record names someone else or nobody, or its own cluster shows it let go. At every write, the holder the table names and the
 * holders every cluster of the lease's scope shows are counted if unexpired then.
 */
export function checkSingleHolder(
  table: InMemoryTable,
  clusters: readonly InMemoryCluster[],
  key: LeaseKey,
): string[] {
  const violations: string[] = [];
  const pk = partitionKey(key);
  const leaseWrites = table.history.filter((w) => w.pk === pk && w.sk === LEASE_SK);
  for (const w of leaseWrites) {
    const before = holderIn(w.old);
    const after = holderIn(w.new);
    if (w.old === undefined || before === undefined || after === undefined || before === after) continue;
    const record = leaseFromItem(w.old as LeaseItem).record;
    if (
      !isLeaseExpired(record, w.at) &&
      !renewalOnRecordExpired(clusters, key, w.old as LeaseItem, w.at) &&
      !letGoInItsCluster(clusters, key, before, record.holderCluster, w.ordinal)
    ) {
      violations.push(
        `${pk}: ${w.method} at ${when(w.at)} replaced ${before} (unexpired until ${when(leaseDeadline(record) ?? 0)}) with ${after}`,
      );
    }
  }

  type Event =
    | { ordinal: number; at: Millis; table: (typeof leaseWrites)[number] }
    | { ordinal: number; at: Millis; cluster: string; lease: RawObject | undefined };
  const events: Event[] = [
    ...leaseWrites.map((w) => ({ ordinal: w.ordinal, at: w.at, table: w })),
    ...clusters.flatMap((c) =>
      c.history
        .filter(isLeaseOf(key))
        .map((w) => ({ ordinal: w.ordinal, at: w.at, cluster: c.name, lease: w.object })),
    ),
  ].sort((x, y) => x.ordinal - y.ordinal);
  const liveUntil = new Map<string, Millis>();
  const shown = new Map<string, string | undefined>();
  for (const event of events) {
    if ('table' in event) {
      const before = holderIn(event.table.old);
      const after = holderIn(event.table.new);
      if (before !== undefined && before !== after)
        liveUntil.set(before, Math.min(liveUntil.get(before) ?? Number.NEGATIVE_INFINITY, event.at - 1));
      if (after !== undefined) {
        const deadline = leaseDeadline(leaseFromItem(event.table.new as LeaseItem).record);
        liveUntil.set(after, deadline ?? Number.NEGATIVE_INFINITY);
      }
      shown.set('table', after);
    } else {
      shown.set(`cluster ${event.cluster}`, clusterHolder(event.lease));
    }
    const live = new Set(
      [...shown.values()].filter(
        (h): h is string => h !== undefined && (liveUntil.get(h) ?? Number.NEGATIVE_INFINITY) >= event.at,
      ),
    );
    if (live.size > 1) {
      violations.push(
        `${pk}: at ${when(event.at)} ${[...shown.entries()].map(([where, h]) => `${where}=${h ?? '-'}`).join(' ')} are all unexpired`,
      );
    }
  }
  return violations;
}

function termOf(lease: RawObject): number {
  const text = lease.metadata?.annotations?.[TERM_ANNOTATION];
  return text === undefined ? Number.NaN : Number(text);
}

/** (b) The term never goes down, in the table and on every cluster's Lease; neither is ever deleted. */
export function checkTermsGrow(
  table: InMemoryTable,
  clusters: readonly InMemoryCluster[],
  key: LeaseKey,
): string[] {
  const violations: string[] = [];
  const pk = partitionKey(key);
  for (const w of table.history.filter((w) => w.pk === pk && w.sk === LEASE_SK)) {
    if (w.old === undefined) continue;
    const before = (w.old as LeaseItem).term;
    const after = (w.new as LeaseItem | undefined)?.term;
    if (after === undefined || after < before)
      violations.push(
        `${pk}: ${w.method} at ${when(w.at)} took the term from ${before} to ${after ?? 'deleted'}`,
      );
  }
  for (const cluster of clusters) {
    let previous: number | undefined;
    for (const w of cluster.history.filter(isLeaseOf(key))) {
      const term = w.object === undefined ? Number.NaN : termOf(w.object);
      if (Number.isNaN(term) || (previous !== undefined && term < previous))
        violations.push(
          `${cluster.name}: ${w.by} at ${when(w.at)} wrote term ${term} over ${previous ?? 'none'}`,
        );
      previous = term;
    }
  }
  return violations;
}

/**
 * (c) A heartbeat putHeartbeat accepted stays stored (that heartbeat or a newer one) until the
 * garbage collector deletes the candidate, which it may only do once the candidate has not
 * renewed for CANDIDATE_VALID_MS on the coordinator's clock, or until its object is deleted from its
 * cluster (removeCandidate: ingest on the DELETED event, or a ping that found it gone).
 */
export function checkHeartbeatsKept(table: InMemoryTable, clusters: readonly InMemoryCluster[]): string[] {
  const violations: string[] = [];
  for (const accepted of table.accepted) {
    const later = table.history.filter(
      (w) => w.pk === accepted.pk && w.sk === accepted.sk && w.seq > accepted.seq,
    );
    for (const w of later) {
      const old = w.old as CandidateItem | undefined;
      const stored = w.new as CandidateItem | undefined;
      if (stored === undefined) {
        const collectable =
          (w.method === 'deleteCandidates' &&
            old !== undefined &&
            old.renewedAt + CANDIDATE_VALID_MS < w.at) ||
          (w.method === 'removeCandidate' && objectDeletedBefore(clusters, w.sk, w.ordinal));
        if (!collectable)
          violations.push(
            `${accepted.sk}: ${w.method} at ${when(w.at)} deleted a live candidate (heartbeat ${accepted.renewTime})`,
          );
        break;
      }
      if (stored.renewTime < accepted.renewTime)
        violations.push(
          `${accepted.sk}: ${w.method} at ${when(w.at)} replaced accepted renewTime ${accepted.renewTime} with ${stored.renewTime}`,
        );
    }
  }
  return violations;
}

/** The candidate item `sk` names had its LeaseCandidate deleted from its cluster, last, before `ordinal`. */
function objectDeletedBefore(clusters: readonly InMemoryCluster[], sk: string, ordinal: number): boolean {
  const [, clusterName, name] = sk.split('#');
  const writes =
    clusters
      .find((c) => c.name === clusterName)
      ?.history.filter((w) => w.kind === 'LeaseCandidate' && w.name === name && w.ordinal < ordinal) ?? [];
  const last = writes[writes.length - 1];
  return last !== undefined && last.object === undefined;
}
