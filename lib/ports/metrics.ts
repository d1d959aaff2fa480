/*
 * Every metric the coordinator emits, in one list (METRICS): the EMF and Prometheus adapters
 * (lib/metrics), the alarms and the dashboard (infra/monitoring.yml) and docs/operating.md all use
 * these names, and tests hold them to it. Renaming one breaks the alarms and dashboards of deployed
 * stacks: add, never rename.
 */

/** The CloudWatch namespace of every metric. */
export const METRIC_NAMESPACE = 'LeaseCoordinator';

/**
 * Dimensions are bounded by the clusters config: `Scope` is a cluster or a lease group's clusters
 * joined by "+" (never a lease name: 300 leases would be 300 metrics to pay for), `Cluster` a
 * registered cluster, `Reason` and `Operation` fixed lists.
 */
export type DimensionName = 'Scope' | 'Cluster' | 'Reason' | 'Operation';

export type MetricKind =
  /** Something happened this many times. */
  | 'counter'
  /** How long something took, one value per occurrence (milliseconds). */
  | 'duration'
  /** A level read at one moment (the sweep's count of leaderless leases). */
  | 'gauge';

export interface MetricDefinition {
  readonly kind: MetricKind;
  readonly unit: 'Count' | 'Milliseconds' | 'Seconds';
  /** The dimension each value carries, if any. CloudWatch also gets the sum over it, undimensioned. */
  readonly dimension?: DimensionName;
  /** What one value counts, and where it is counted. */
  readonly help: string;
}

export const METRICS = {
  Elections: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'Scope',
    help: 'decisions written that name a holder for a lease without a live one (first holder or takeover)',
  },
  HolderChanges: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'Scope',
    help: 'term increments: a decision written that names a different holder',
  },
  PreemptionsRequested: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'Scope',
    help: 'a live holder asked to yield to a better candidate (preferredHolder written)',
  },
  PreemptionsCompleted: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'Scope',
    help: 'the preferred holder written as holder after a preemption',
  },
  Failovers: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'Scope',
    help: 'a new holder written in place of one whose lease ran out without a release',
  },
  FailoverDuration: {
    kind: 'duration',
    unit: 'Milliseconds',
    dimension: 'Scope',
    help: "from the old holder's deadline (last renewal + lease duration) to the new holder written",
  },
  PingsSent: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'Scope',
    help: 'candidates asked to prove they are alive before a vote (pingTime written)',
  },
  PingsUnanswered: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'Scope',
    help: 'candidates left out of a written decision because their ping window closed unanswered',
  },
  MirrorWrites: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'Cluster',
    help: 'Lease writes into a cluster (create, replace, revoke)',
  },
  MirrorFailures: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'Cluster',
    help: 'mirror passes that left a cluster behind (unreachable, or conflicts past the retries)',
  },
  MirrorHeldByAnother: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'Cluster',
    help: 'mirror passes that found the Lease held by another elector, live (a legacy elector): left as it is and its holder recorded',
  },
  IngestLag: {
    kind: 'duration',
    unit: 'Milliseconds',
    dimension: 'Cluster',
    help: 'from a watch event received from a cluster to its change stored in the table',
  },
  IngestErrors: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'Cluster',
    help: 'watch events that could not be stored, and cluster watches that broke off',
  },
  HeartbeatsRejected: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'Reason',
    help: 'HTTP heartbeats answered with an error, by the Status reason (Invalid, Unauthorized, ...)',
  },
  ConditionalCheckFailures: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'Operation',
    help: 'table writes refused by their condition (a race lost, a stale heartbeat, a timer already armed, a first heartbeat tried as a renewal)',
  },
  LeasesWithoutLiveHolder: {
    kind: 'gauge',
    unit: 'Count',
    help: 'leases with a live candidate but no live holder, counted by each sweep',
  },
  LongestWithoutLiveHolder: {
    kind: 'gauge',
    unit: 'Seconds',
    help: 'how long the longest-leaderless of those leases has been without a live holder, at each sweep',
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricName = keyof typeof METRICS;

export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];

/** Heartbeat rejections, by the Kubernetes Status reason the caller is answered with. */
export type HeartbeatRejection =
  | 'Invalid'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'Conflict'
  | 'Unauthorized'
  | 'Forbidden'
  | 'InternalError'
  | 'ServiceUnavailable';

/**
 * Where the coordinator and its adapters report what happened, for operators: names and kinds in
 * METRICS below. The adapters count (CloudWatch EMF in Lambda, lib/metrics/emf-metrics.ts;
 * Prometheus under `npm start`, lib/metrics/prometheus-metrics.ts); a report never fails and never waits.
 */
export interface Metrics {
  /**
   * One value of a metric: occurrences for a counter, milliseconds for a duration, the level for a
   * gauge; `dimension` is the value of the metric's dimension (its Scope, Cluster, ...), if it has one.
   */
  record(name: MetricName, value: number, dimension?: string): void;
}

/** Reports nowhere: the dry-run CLI, tests that do not look. */
export const noMetrics: Metrics = { record: () => {} };
