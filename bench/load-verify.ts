import type { CoordinatorStore } from '../lib/ports/store.js';
import {
  CANDIDATES_PER_LEASE,
  candidateNameOf,
  LOAD_CLUSTER,
  LOAD_NAMESPACE,
  leaseNameOf,
} from './load-generator.js';

export interface Verification {
  readonly leases: number;
  /** Candidates whose stored renewTime is older than the newest one answered 2xx. */
  readonly lost: string[];
  /** Candidates whose stored renewTime is newer than any answered 2xx (written, answer not seen). */
  readonly unacknowledged: string[];
  /** Leases with no decision at all: no lease record, or term 0 (no holder was ever elected). */
  readonly undecided: string[];
  /** Leases decided but holderless when read: informational, since candidates stop at the end of the run. */
  readonly leasesWithoutHolder: string[];
  /** Sum of the terms: how many holder changes the run caused. */
  termSum: number;
}

/** Reads every lease back: each candidate's newest acknowledged heartbeat must be the one stored. */
export async function verifyHeartbeats(
  store: CoordinatorStore,
  lastAcked: Float64Array,
): Promise<Verification> {
  const candidates = lastAcked.length;
  const leaseCount = Math.ceil(candidates / CANDIDATES_PER_LEASE);
  const result: Verification = {
    leases: leaseCount,
    lost: [],
    unacknowledged: [],
    undecided: [],
    leasesWithoutHolder: [],
    termSum: 0,
  };
  for (let lease = 0; lease < leaseCount; lease++) {
    const first = lease * CANDIDATES_PER_LEASE;
    const name = leaseNameOf(first);
    const state = await store.loadLease({ scope: LOAD_CLUSTER, namespace: LOAD_NAMESPACE, name });
    const stored = new Map(state.candidates.map((c) => [c.name, c.sentRenewTime]));
    for (let i = first; i < Math.min(first + CANDIDATES_PER_LEASE, candidates); i++) {
      const acked = lastAcked[i] ?? 0;
      const have = stored.get(candidateNameOf(i)) ?? 0;
      if (have < acked) result.lost.push(candidateNameOf(i));
      else if (have > acked) result.unacknowledged.push(candidateNameOf(i));
    }
    const term = state.lease?.record.term ?? 0;
    result.termSum += term;
    if (term < 1) result.undecided.push(name);
    const holder = state.lease?.record.holderIdentity;
    if (holder === undefined || holder === '') result.leasesWithoutHolder.push(name);
  }
  return result;
}
