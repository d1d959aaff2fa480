import type { RawObject, WatchPhase } from '../ports/cluster.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { CoordinatorStore, LeaseState } from '../ports/store.js';

/** The kind whose handled resourceVersions are remembered across relists (the bulk of a list). */
export const CANDIDATES = 'leasecandidates';

/** An object's key in ingest's queue, and a LeaseCandidate's in what ingest remembers it handled. */
export function objectId(kind: string, namespace: string | undefined, name: string | undefined): string {
  return `${kind}/${namespace}/${name}`;
}

/** An object's key, from the object itself. */
export function idOf(kind: string, object: RawObject): string {
  return objectId(kind, object.metadata?.namespace, object.metadata?.name);
}

/**
 * The resourceVersion of each LeaseCandidate of one cluster whose latest event was handled
 * (stored, or found already stored), kept across relists: a relist skips the candidates it shows
 * unchanged. Without it every relist writes every object again, and with tens of thousands of
 * candidates one failed write among them starts another full relist, and so on: ingest never gets
 * past relisting (docs/reliability.md, "Findings behind the code"). A cache that is safe to lose: a
 * fresh one only costs a full relist.
 */
export class HandledVersions {
  private readonly versions = new Map<string, string>();

  /** A listed object whose latest event was handled at this very resourceVersion: nothing to do. */
  unchanged(kind: string, object: RawObject): boolean {
    const rv = object.metadata?.resourceVersion;
    return rv !== undefined && this.versions.get(idOf(kind, object)) === rv;
  }

  /** The object's newest event is being handled: until it is done, it counts as not handled. */
  started(id: string): void {
    this.versions.delete(id);
  }

  /**
   * The event was handled. Only LeaseCandidates are remembered, and a deleted one is forgotten:
   * names come and go (client-go's carry a UUID per process start).
   */
  done(kind: string, id: string, resourceVersion: string | undefined, phase?: WatchPhase): void {
    if (kind === CANDIDATES && resourceVersion !== undefined && phase !== 'DELETED')
      this.versions.set(id, resourceVersion);
  }

  /** What the table already holds (storedCandidateVersions), for candidates not handled since. */
  seed(stored: ReadonlyMap<string, string> | undefined): void {
    for (const [id, rv] of stored ?? []) if (!this.versions.has(id)) this.versions.set(id, rv);
  }

  /** Forgets the LeaseCandidates a fresh list no longer shows (deleted while nobody watched). */
  forgetUnlisted(listed: readonly RawObject[]): void {
    const ids = new Set(listed.map((object) => idOf(CANDIDATES, object)));
    for (const id of this.versions.keys()) if (!ids.has(id)) this.versions.delete(id);
  }
}

/**
 * The resourceVersion at which the table holds each LeaseCandidate read from a cluster, by
 * cluster, from one scan of the table: what a starting ingest need not write again.
 */
export async function storedCandidateVersions(
  store: Pick<CoordinatorStore, 'scanLeases'>,
  /** Each lease the scan read whole (ingest's kept deadlines start from the records). */
  onLease?: (key: LeaseKey, state: LeaseState) => void,
): Promise<Map<string, Map<string, string>>> {
  const byCluster = new Map<string, Map<string, string>>();
  for await (const { key, state } of store.scanLeases()) {
    if (state !== undefined) onLease?.(key, state);
    for (const c of state?.candidates ?? []) {
      if (c.resourceVersion === undefined) continue;
      const known = byCluster.get(c.cluster) ?? new Map<string, string>();
      known.set(objectId(CANDIDATES, c.namespace, c.name), c.resourceVersion);
      byCluster.set(c.cluster, known);
    }
  }
  return byCluster;
}
