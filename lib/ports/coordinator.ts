/**
 * The coordinator's ports: what the deciding code (lib/coordinator, lib/sync, lib/handlers) needs
 * from the world, kept apart from the adapters that provide it (lib/store: the table; lib/kube: the
 * clusters; lib/runtime and lib/local: timers and clocks), which lib/wiring puts together. Adapters
 * and deciders import these files; these import only types: the pure core's (lib/election,
 * lib/api) and the logger's.
 *
 * What the coordinator guarantees, given a store that keeps the CoordinatorStore contract (every
 * write conditional; the store contract suite holds both stores to it):
 *
 * - A live holder is never overwritten. A better candidate is only named preferredHolder, or, where
 *   the preemption is Revoke, the holder is taken off its Lease and the successor is named one lease
 *   duration after the holder's last renewal, which that write replaced (and never before it). Whether a holder is live is judged on the coordinator's own clock,
 *   from when it observed the last renewal, never from timestamps written by other machines.
 * - The term only grows: every holder change gets a higher one, written on each Lease it mirrors,
 *   and a Lease that shows a higher term is never written with a lower one.
 * - Each step decides from stored state alone and writes conditionally, so a stream record, timer or
 *   sweep replayed twice or out of order changes nothing, and losing any in-memory cache costs time,
 *   never safety.
 * - A holder that looks expired is not taken over before its Lease in its own cluster is read, where
 *   the coordinator reaches that cluster over Kubernetes; under `Wait` (the default) a cluster that
 *   does not answer keeps its holder until it answers and one lease duration more has passed.
 *
 * What it does not guarantee:
 *
 * - That only one process acts as leader at any instant. As with client-go's elector, a holder learns
 *   that it lost the lease only when it next reads its Lease, and one that stops renewing but goes on
 *   working (a long pause, a cut-off node) can act after its successor has started. The term is the
 *   fencing token that rules this out for a downstream system that checks it.
 * - Safety under any clock rate skew: a holder whose clock runs slower than ours by more than the
 *   ratio of its leaseDuration to its renew deadline allows can still believe it leads after the
 *   lease has gone to another.
 * - A leader through every outage: under `Wait`, a lease whose holder's cluster stays unreachable has
 *   no new leader until that cluster answers; `TakeOver` trades that for a second leader for seconds
 *   when the cluster comes back.
 * - A bound on failover time: a deadline is kept by a timer, and a lost timer or stream record waits
 *   for the minute sweep (docs/reliability.md has the measured figures).
 * - Upstream's behaviour where docs/differences.md lists a difference.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Millis } from '../election/types.js';
import type { ClusterSource, HolderLeaseFence, HolderLeaseReader } from './cluster.js';
import type { DecisionHistory } from './history.js';
import type { LeaseKey, LeaseResolver } from './lease-key.js';
import type { Metrics } from './metrics.js';
import type { Clock, TimerCover, TimerQueue, TimerRedelivery } from './schedule.js';
import type { CoordinatorStore } from './store.js';

/** What one reconcile of a lease (lib/coordinator/reconcile-lease.ts) works with. */
export interface CoordinatorDeps {
  readonly store: CoordinatorStore;
  readonly timers: TimerQueue;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Which lease (and lease group) a cluster's lease name belongs to. */
  readonly leases: LeaseResolver;
  /** Reads a holder's own Lease before a takeover (see confirmTakeover); absent without clusters. */
  readonly readHolderLease?: HolderLeaseReader;
  /** Takes an expired holder off its own Lease before a takeover names its successor (see confirmTakeover). */
  readonly fenceHolderLease?: HolderLeaseFence;
  /** Per lease, when its holder's cluster cannot be read: `Wait` (the default) or `TakeOver`. */
  readonly holderClusterUnreachable?: (key: LeaseKey) => HolderClusterUnreachable;
  /** How a live holder is asked to yield (Auto when unset; Never: it is not). */
  readonly preemption?: PreemptionPolicy;
  /** Where each decision leaves a short record (docs/design.md, "Decision history"); none kept when absent. */
  readonly history?: DecisionHistory;
  /** Where elections, failovers and pings are reported; unset, nowhere (tests, the dry-run CLI). */
  readonly metrics?: Metrics;
  /**
   * Ingest's cover of held leases' own deadlines: where it names the holder's cluster, the step arms
   * no timer for them (docs/design.md, "Timers kept by ingest"). Absent: every deadline is a timer.
   */
  readonly timerCover?: TimerCover;
  /**
   * When this process first saw a holder's renewal (ingest sees every one): a record dated later,
   * by another ingest run that saw it later, is judged from this sighting (renewal-sightings.ts).
   */
  readonly renewalSightings?: RenewalSightings;
}

/** A holder's renewal as its own cluster showed it: the holder and the renewTime it stamped. */
export interface ShownRenewal {
  readonly cluster: string;
  readonly holder: string;
  /** The holder's renewTime (its own clock): which renewal, not when. */
  readonly renewTime: Millis;
}

/**
 * Where a process that watches the clusters remembers when, on our clock, it first saw each held
 * Lease's latest renewal. A renewal is committed before any watch or list shows it, so a holder
 * cannot have renewed it any later: one lease duration after the first sighting is a safe deadline
 * for it, and the earliest one we can prove.
 */
export interface RenewalSightings {
  /** Undefined when this process has not seen that renewal (or has seen a later one since). */
  firstSeen(key: LeaseKey, renewal: ShownRenewal): Millis | undefined;
}

/** What `requeue` (lib/handlers/timer.ts) works with: a reconcile's, and the queue it takes from. */
export interface RequeueDeps extends CoordinatorDeps {
  /** Brings its failed messages back after a short back-off; absent, after the visibility timeout. */
  readonly redelivery?: TimerRedelivery;
}

/** What the mirror (decisions out to the clusters, lib/sync/mirror.ts) works with. */
export interface MirrorDeps {
  readonly store: CoordinatorStore;
  readonly clusters: ClusterSource;
  readonly logger: Logger;
  /** Each lease's preemption (config: preemption); Auto when unset. */
  readonly preemption?: PreemptionPolicy;
  /** Our clock, for a revoke's stamp; Date.now when unset. */
  readonly clock?: Clock;
  /** Where Lease writes, clusters left behind and ingest's lag and errors are counted; unset, nowhere. */
  readonly metrics?: Metrics;
  /** Ingest's first sightings of holders' renewals, where the mirror runs inside ingest (a revoke's stamp). */
  readonly renewalSightings?: RenewalSightings;
}

/** What ingest (cluster objects into the table, lib/sync/ingest.ts) works with. */
export interface IngestDeps extends MirrorDeps {
  readonly clock: Clock;
  readonly leases: LeaseResolver;
  /**
   * The takeovers' policy when a holder's cluster cannot be read: under `TakeOver` a takeover may go
   * by the record alone, so ingest records every renewal of such a lease (Wait when unset).
   */
  readonly holderClusterUnreachable?: (key: LeaseKey) => HolderClusterUnreachable;
}

/**
 * What to do when a holder looks expired but its own cluster cannot be read. `Wait`: keep the
 * holder until its cluster answers (never two leaders, even when only we are cut off from it).
 * `TakeOver`: fail over on our record (a lease group keeps a leader through a cluster outage; the
 * old holder may lead again for seconds when its cluster comes back, so check the term).
 */
export type HolderClusterUnreachable = 'Wait' | 'TakeOver';

/**
 * How a live holder is asked to yield to a better candidate (docs/clusters.md, "Preemption"):
 * `PreferredHolder` sets spec.preferredHolder (upstream's way; the holder steps down at the end of
 * its term); `Revoke` also takes the holder off its Lease and names the successor one lease duration
 * after its last renewal (for clusters that drop spec.preferredHolder); `Never` leaves the holder until it goes;
 * `Auto` is PreferredHolder where the holder's cluster keeps that field and Revoke where it does not.
 */
export type Preemption = 'Auto' | 'PreferredHolder' | 'Revoke' | 'Never';

/** A lease's preemption, by its key and the cluster its holder lives in. */
export type PreemptionPolicy = (key: LeaseKey, holderCluster: string) => Preemption;
