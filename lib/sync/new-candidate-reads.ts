import { HttpOnlyClusterError } from '../errors.js';
import type { RawObject } from '../ports/cluster.js';
import type { IngestDeps } from '../ports/coordinator.js';
import { clustersOf, type LeaseKey } from '../ports/lease-key.js';
import type { LeaseState, StoredCandidate } from '../ports/store.js';
import type { KnownChange, SeenLease } from './decide-now.js';

/**
 * The reads a new candidate's election needs, started beside its write instead of after it: the
 * lease's partition in the table, and its Lease in every cluster of its scope (what a first decision
 * adopts, and what the mirror writes over). Ingest stores the candidate, then hands the fast path the
 * lease as read with the candidate as written (KnownChange): the step reads neither the table nor
 * those clusters before it decides, so the Lease shows the new holder one conditional write (the
 * decision) and one Lease write after the candidate's own write (docs/design.md, the fast path).
 *
 * Safe because the step's write is a compare-and-set on the lease version read here (a create when
 * there was none): a state that moved meanwhile loses it, and the step decides again from a fresh
 * read. A Lease read a few milliseconds early is as good as one read after: the mirror's write is
 * conditional on it, and a Lease someone took in between is found and recorded there. The decision
 * waits for the candidate's write, so it is taken on stored state only (rule 1).
 */
export class NewCandidateReads {
  private reads?: { readonly state: Promise<LeaseState>; readonly leases: Promise<readonly SeenLease[]> };

  constructor(private readonly deps: IngestDeps) {}

  /** Starts the reads of the lease `key` (called just before the candidate's write). */
  readonly start = (key: LeaseKey): void => {
    const state = this.deps.store.loadLease(key);
    // Not awaited if the write fails: the read's own failure must not go unhandled.
    state.catch(() => undefined);
    const leases = Promise.all(clustersOf(key).map((cluster) => this.readLease(cluster, key)));
    this.reads = { state, leases: leases.then((seen) => seen.filter((s) => s !== undefined)) };
  };

  /**
   * What the fast path decides on once `candidate` is stored in `cluster`: undefined when the reads
   * were not started or the table read failed (the fast path then reads the table itself).
   */
  async known(cluster: string, candidate: StoredCandidate | undefined): Promise<KnownChange | undefined> {
    if (this.reads === undefined || candidate === undefined) return undefined;
    let state: LeaseState;
    try {
      state = await this.reads.state;
    } catch {
      return undefined;
    }
    const leases = await this.reads.leases;
    // The candidate's cluster has just delivered its watch event: it answers.
    const answered = [...new Set([cluster, ...leases.map((seen) => seen.cluster)])];
    return { known: { state: withCandidate(state, candidate), answered }, leases };
  }

  /** The Lease in one cluster; undefined when it cannot be read (the decision reads it itself). */
  private async readLease(cluster: string, key: LeaseKey): Promise<SeenLease | undefined> {
    try {
      const client = await this.deps.clusters.get(cluster);
      const lease: RawObject | undefined = await client.readLease({
        namespace: key.namespace,
        name: key.name,
      });
      return { cluster, lease };
    } catch (error) {
      if (!(error instanceof HttpOnlyClusterError))
        this.deps.logger.debug('cannot read the Lease beside a new candidate; the decision reads it', {
          lease: key,
          cluster,
          error: error as Error,
        });
      return undefined;
    }
  }
}

/**
 * The lease as read, with the candidate as its write stored it. The read ran beside the write, so
 * it may show the candidate as it was before (or not at all); a copy read with a renewal at least
 * as new is the later one (a ping may have come after the write).
 */
export function withCandidate(state: LeaseState, candidate: StoredCandidate): LeaseState {
  const same = (c: StoredCandidate) => c.name === candidate.name && c.cluster === candidate.cluster;
  const read = state.candidates.find(same);
  if (read !== undefined && read.sentRenewTime >= candidate.sentRenewTime) return state;
  return { ...state, candidates: [...state.candidates.filter((c) => !same(c)), candidate] };
}
