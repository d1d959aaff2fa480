import { LRUCache } from 'lru-cache';
import type { Millis } from '../election/types.js';
import type { RenewalSightings, ShownRenewal } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import { partitionKey } from '../store/keys.js';

interface Sighting extends ShownRenewal {
  readonly seenAt: Millis;
}

/**
 * Enough for every lease a coordinator serves, in each cluster of its group; past it the least
 * recently used go first.
 */
const DEFAULT_CAPACITY = 50_000;

/**
 * Ingest's first sighting of each lease's latest renewal, per lease (docs/design.md, "Renewals
 * kept by ingest"). The deployed ingest starts a run every minute and the runs overlap: a renewal
 * the old run kept unrecorded is news to the new run's list, which records it at the list's time,
 * seconds after the old run saw it. The old run's steps judge that record from their own sighting,
 * so a holder that died just after it is taken over at its true deadline, not one list later.
 */
export class FirstSightings implements RenewalSightings {
  private readonly sightings: LRUCache<string, Sighting>;

  constructor(capacity = DEFAULT_CAPACITY) {
    this.sightings = new LRUCache({ max: capacity });
  }

  /** A Lease as a list or watch showed it at `now`: its renewal's first sighting, if it is new. */
  saw(key: LeaseKey, renewal: ShownRenewal, now: Millis): void {
    const pk = entryOf(key, renewal.cluster);
    const before = this.sightings.get(pk);
    if (before !== undefined && sameRenewal(before, renewal)) return;
    // An older renewal shown again (a list behind a watch) is no news about the holder.
    if (before?.holder === renewal.holder && renewal.renewTime < before.renewTime) return;
    this.sightings.set(pk, { ...renewal, seenAt: now });
  }

  firstSeen(key: LeaseKey, renewal: ShownRenewal): Millis | undefined {
    const sighting = this.sightings.get(entryOf(key, renewal.cluster));
    return sighting !== undefined && sameRenewal(sighting, renewal) ? sighting.seenAt : undefined;
  }
}

/**
 * One entry per lease and cluster: in a lease group the mirror's copies in the other clusters name
 * the holder too, and must not take the place of its own cluster's renewal.
 */
function entryOf(key: LeaseKey, cluster: string): string {
  return `${partitionKey(key)}\u0000${cluster}`;
}

function sameRenewal(a: ShownRenewal, b: ShownRenewal): boolean {
  return a.cluster === b.cluster && a.holder === b.holder && a.renewTime === b.renewTime;
}
