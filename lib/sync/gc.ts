import { collectableCandidates } from '../election/liveness.js';
import type { Millis } from '../election/types.js';
import type { MirrorDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { LeaseState } from '../ports/store.js';

/**
 * Candidate garbage collection in the clusters, as upstream's GC controller does: a candidate
 * that has not renewed for 30 minutes (judged on our clock) is deleted from its cluster, with
 * its resourceVersion as a precondition so one that renewed meanwhile survives, then from the table.
 */
export async function collectExpiredCandidates(
  deps: MirrorDeps,
  key: LeaseKey,
  now: Millis,
  /**
   * What the sweep's scan read, if it did. A candidate only expires further with time and a
   * renewal only makes it younger, so when none in it is collectable now, none is, and the lease
   * is not read again.
   */
  scanned?: LeaseState,
): Promise<string[]> {
  if (scanned !== undefined && collectableCandidates(scanned.candidates, now).length === 0) return [];
  const { candidates } = await deps.store.loadLease(key);
  const expired = collectableCandidates(candidates, now);
  const collected: string[] = [];
  for (const candidate of expired) {
    if (candidate.resourceVersion !== undefined) {
      const client = await deps.clusters.get(candidate.cluster);
      const result = await client.deleteCandidate(
        candidate.apiVersion,
        { namespace: candidate.namespace, name: candidate.name },
        candidate.resourceVersion,
      );
      // 409: it changed in the cluster since we read it (it renewed); ingest brings that in.
      if (!result.ok && result.reason === 'Conflict') continue;
    }
    collected.push(candidate.name);
  }
  await deps.store.deleteCandidates(
    key,
    expired.filter((c) => collected.includes(c.name)),
  );
  return collected;
}
