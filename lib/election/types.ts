/**
 * The election domain, free of wire formats and I/O. Times are epoch milliseconds on the
 * coordinator's clock unless a field says otherwise.
 */
export type Millis = number;

/** The only in-tree strategy. Names with a `/` are third-party strategies. */
export const OLDEST_EMULATION_VERSION = 'OldestEmulationVersion';

/**
 * Our own qualified name for the same ordering. The in-tree CLE controller ignores
 * third-party strategies, so picking this name keeps it from fighting us over the lease.
 */
export const OUR_OLDEST_EMULATION_VERSION = 'lease-coordinator.dev/OldestEmulationVersion';

/** Strategies ordered by OldestEmulationVersion, whatever their name. */
export const ORDERED_STRATEGIES: ReadonlySet<string> = new Set([
  OLDEST_EMULATION_VERSION,
  OUR_OLDEST_EMULATION_VERSION,
]);

/**
 * The LeaseCandidate custom resource (infra/kubernetes/leasecandidate-crd.yaml) that candidates use
 * in clusters serving no built-in LeaseCandidate API (the CoordinatedLeaderElection gate off, as on
 * every managed control plane). Its spec is that of coordination.k8s.io/v1beta1, and so is its
 * strategy resolution.
 */
export const CRD_CANDIDATE_API = 'coordination.lease-coordinator.dev/v1';

/**
 * Which LeaseCandidate API a candidate spoke: a version of the built-in coordination.k8s.io, or
 * the custom resource. It decides how its strategy is resolved and where its pings go.
 */
export type CandidateApiVersion = 'v1alpha1' | 'v1alpha2' | 'v1beta1' | typeof CRD_CANDIDATE_API;

/** A validated LeaseCandidate, as the election sees it. */
export interface Candidate {
  /** Cluster the candidate lives in; part of its identity in a multi-cluster lease group. */
  readonly cluster: string;
  readonly namespace: string;
  /** metadata.name: the identity written into holderIdentity when it wins. */
  readonly name: string;
  readonly leaseName: string;
  readonly apiVersion: CandidateApiVersion;
  /** Strict semver; always present after validation (v1alpha1 may leave it empty). */
  readonly binaryVersion: string;
  /** Strict semver or empty (empty is allowed only for third-party strategies). */
  readonly emulationVersion: string;
  /** v1alpha2/v1beta1 (and the CRD): the single strategy. v1alpha1: its first preferred strategy. */
  readonly strategy: string;
  /** v1alpha1 only: the ordered list; the first entry supersedes the rest. */
  readonly preferredStrategies?: readonly string[];
  readonly creationTimestamp: Millis;
  /** When the candidate last renewed; written by the candidate. */
  readonly renewTime?: Millis;
  /** When the coordinator last asked it to renew. */
  readonly pingTime?: Millis;
}

/** The coordinator's record of a coordination.k8s.io/v1 Lease, plus its fencing term. */
export interface LeaseRecord {
  /** undefined is nil; "" is what client-go writes on release. Both mean "no holder". */
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  readonly acquireTime?: Millis;
  /** When the holder last renewed, as observed on the coordinator's clock. */
  readonly renewTime?: Millis;
  readonly leaseTransitions?: number;
  readonly strategy?: string;
  readonly preferredHolder?: string;
  /** Goes up by one each time a different, non-empty holder is written; never otherwise. */
  readonly term: number;
  /** The cluster the holder candidate lives in: where its own renewals of the Lease are observed. */
  readonly holderCluster?: string;
  /**
   * The holder that released the Lease (in holderCluster), and when, on our clock: it is leaving
   * (client-go releases on a clean stop), so it is not elected again until it heartbeats after that.
   */
  readonly releasedHolder?: string;
  readonly releasedAt?: Millis;
  /**
   * When a preference for another was last taken back from this holding, on our clock. client-go
   * asked to yield stops renewing and releases at its renew deadline: a release soon after the
   * preference is gone is still that yield, not the holder leaving (hasLeft), and a holder whose
   * lease ran out soon after it is still asked before another takes over (yieldingAsAsked).
   */
  readonly preferenceWithdrawnAt?: Millis;
  /**
   * The released Lease still asked its holder to yield (our preferred-holder annotation, or
   * spec.preferredHolder): it let go as asked, however long ago the record took the preference back
   * (a mirror pass held up by a slow cluster can write a preference after the record withdrew it),
   * so it is not leaving (hasLeft).
   */
  readonly releasedYielding?: boolean;
}

/** The Lease spec fields a record carries besides its term, in Lease field order. */
export const LEASE_SPEC_FIELDS = [
  'holderIdentity',
  'leaseDurationSeconds',
  'acquireTime',
  'renewTime',
  'leaseTransitions',
  'strategy',
  'preferredHolder',
] as const satisfies readonly (keyof LeaseRecord)[];

export type StepAction = 'none' | 'ping' | 'wait' | 'create' | 'takeover' | 'preempt' | 'error';

/** One reconcile step's decision: what to write, whom to ping, when to look again. */
export interface ElectionStep {
  readonly action: StepAction;
  /** Candidates whose pingTime this step sets to `now`. */
  readonly ping: readonly Candidate[];
  /** The full Lease record to write, or null when nothing changes. */
  readonly write: LeaseRecord | null;
  /** 0 means "wait for the next change"; otherwise look again after this long. */
  readonly requeueAfterMs: Millis;
  readonly error: string | null;
}
