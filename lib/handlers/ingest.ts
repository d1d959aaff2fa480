import { getMaxListeners, setMaxListeners } from 'node:events';
import { renewalRecordBoundMs } from '../election/timing.js';
import type { CandidateApiVersion, Millis } from '../election/types.js';
import type { CoordinatorDeps } from '../ports/coordinator.js';
import { clustersOf, type LeaseKey } from '../ports/lease-key.js';
import type { LeaseState } from '../ports/store.js';
import { FastPathDecisions } from '../sync/decide-now.js';
import { storedCandidateVersions } from '../sync/handled-versions.js';
import { HolderHints, hintFromRecord } from '../sync/holder-hints.js';
import { type IngestDeadlines, keptDeadlines, leaseNews } from '../sync/ingest-deadlines.js';
import { runClusterIngest } from '../sync/ingest-runner.js';
import { mirrorLease } from '../sync/mirror.js';
import { takeOverOnRelease } from '../sync/release-takeover.js';
import { FirstSightings } from '../sync/renewal-sightings.js';
import type { ClusterWiring } from '../wiring/coordinator.js';

/** Leave this long before the Lambda deadline; the next scheduled run has already started by then. */
export const DEADLINE_MARGIN_MS = 3_000;
/** serverless.yml starts a run every minute: the next one is watching from about this long after this one started. */
export const SCHEDULE_EVERY_MS = 60_000;

/**
 * Abort listeners one cluster's ingest holds on the run's signal at once: its stop while it watches,
 * and the list, pause or drain it is waiting for.
 */
const SIGNAL_LISTENERS_PER_CLUSTER = 3;

export interface IngestOptions {
  /** Called after each cluster event is stored (tests await drains; the local runtime refreshes its view). */
  readonly onEvent?: () => void;
  /** Called when ingest learns which LeaseCandidate API it reads in a cluster, and when that changes. */
  readonly onCandidateApi?: (cluster: string, api: CandidateApiVersion | undefined) => void;
  /** How often a cluster without the built-in LeaseCandidate API is asked what it serves. */
  readonly rediscoverEveryMs?: number;
  /**
   * Keep held leases' own deadlines in memory under the table's timer cover (docs/design.md, "Timers
   * kept by ingest"); true unless said otherwise, where the coordinator has a cover.
   */
  readonly keepDeadlines?: boolean;
  /** When this run stops (a Lambda invocation's deadline): its cover promises nothing past it. */
  readonly stopsAt?: Millis;
  /**
   * When the next scheduled run has started: from then on this run keeps holders' renewals and
   * records none, as the next run records them (docs/reliability.md, "ingest's duty cycle").
   */
  readonly handsOverAt?: Millis;
}

/**
 * ingest (every minute): watches every registered cluster for about a minute, storing each
 * LeaseCandidate and Lease change as it arrives, so changes reach the table within milliseconds
 * rather than at the next schedule. Runs overlap by about 12 s, longer than a new run takes to
 * start watching, so no change falls between two of them (the conditional writes make the overlap
 * harmless; docs/reliability.md, "ingest's duty cycle").
 */
export async function handleIngestSchedule(
  deps: CoordinatorDeps,
  clusters: ClusterWiring,
  remainingMs: number,
): Promise<void> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), remainingMs - DEADLINE_MARGIN_MS);
  try {
    const startedAt = deps.clock();
    await ingestClusters(deps, clusters, stop.signal, {
      stopsAt: startedAt + remainingMs - DEADLINE_MARGIN_MS,
      handsOverAt: startedAt + SCHEDULE_EVERY_MS,
    });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Watches every cluster reached over Kubernetes until `signal` aborts: the deployed function's run
 * and the local runtime's alike. A lease whose Lease drifted from its decision is mirrored; one a
 * change may decide (a new candidate, an answer to a ping, a release) goes to the fast path. Ends
 * once the decisions the fast path started have finished.
 */
export async function ingestClusters(
  deps: CoordinatorDeps,
  wiring: ClusterWiring,
  signal: AbortSignal,
  options: IngestOptions = {},
): Promise<void> {
  // This run's steps and mirror passes judge a holder's renewal from when this run first saw it
  // (renewal-sightings.ts).
  const sightings = new FirstSightings();
  const seeing: CoordinatorDeps = { ...deps, renewalSightings: sightings };
  const clusters: ClusterWiring = { ...wiring, renewalSightings: sightings };
  // Every cluster waits on the one signal, so Node's default of 10 listeners is not a leak's mark here:
  // with a fleet of clusters it would warn of one on every run.
  const listeners = clusters.clusters.names().length * SIGNAL_LISTENERS_PER_CLUSTER;
  if (listeners > getMaxListeners(signal)) setMaxListeners(listeners, signal);
  // Held leases' own deadlines, kept here rather than by a timer each (its steps are the fast path's too).
  const kept = options.keepDeadlines === false ? undefined : keptDeadlines(seeing, clusters, options.stopsAt);
  const deciding = kept?.deciding ?? seeing;
  const fastPath = new FastPathDecisions(deciding, clusters);
  const { stored, hints } = startScan(clusters, kept?.deadlines);
  try {
    await Promise.all(
      clusters.clusters.names().map((cluster) =>
        runClusterIngest(clusters, cluster, signal, {
          onDrift: (key) => mirrorLease(clusters, key),
          onChange: (key, release) => fastPath.schedule(key, release),
          onRelease: (key, release) => takeOverOnRelease(deciding, clusters, key, release),
          stored: stored.then((byCluster) => byCluster.get(cluster)),
          sightings,
          hints: hints(cluster),
          ...(options.handsOverAt !== undefined && {
            renewalBoundMs: boundUntil(deps.clock, options.handsOverAt),
          }),
          ...(options.onEvent !== undefined && { onEvent: options.onEvent }),
          ...(options.onCandidateApi !== undefined && {
            onCandidateApi: (api) => options.onCandidateApi?.(cluster, api),
          }),
          ...(options.rediscoverEveryMs !== undefined && { rediscoverEveryMs: options.rediscoverEveryMs }),
          ...(kept !== undefined && {
            onLease: (key, raw, outcome) => kept.deadlines.leaseEvent(key, raw, leaseNews(outcome)),
            onSynced: (synced) => kept.deadlines.clusterSynced(cluster, synced),
          }),
        }),
      ),
    );
  } finally {
    // Decisions the fast path and the kept deadlines started finish inside this invocation.
    await kept?.deadlines.stop();
    await fastPath.idle();
  }
}

/** A scanned lease's holder, as a hint for the ingest of the holder's own cluster. */
function seedHint(hints: ReadonlyMap<string, HolderHints>, key: LeaseKey, state: LeaseState): void {
  const hint = state.lease === undefined ? undefined : hintFromRecord(state.lease);
  if (hint !== undefined) hints.get(hint.cluster)?.set(key, hint);
}

/**
 * One scan, alongside the clusters' first lists, so that each writes only what changed since the
 * last run (not awaited here: the runs overlap by seconds, and a scan of a large table is not
 * quick; a first list waits a moment for it, ingest-runner.ts). It also seeds the kept deadlines
 * from the records, and the holders' hints, so that each first list writes a renewal only where a
 * running ingest would (HolderHints).
 */
function startScan(clusters: ClusterWiring, deadlines: IngestDeadlines | undefined) {
  const hints = new Map(clusters.clusters.names().map((cluster) => [cluster, new HolderHints()]));
  const scan = storedCandidateVersions(clusters.store, (key, state) => {
    deadlines?.fromRecord(key, state);
    seedHint(hints, key, state);
  });
  deadlines?.scanning(scan);
  const stored = scan.catch((error: unknown) => {
    clusters.logger.warn('cannot scan the stored candidates; first lists write them all', {
      error: error as Error,
    });
    return new Map<string, Map<string, string>>();
  });
  return { stored, hints: (cluster: string) => hints.get(cluster) ?? new HolderHints() };
}

/**
 * Ingest's bound on a held lease's recorded deadline (renewalRecordBoundMs) until the run hands over
 * to the next, then none: each renewal is kept, so two runs do not both record it. A record that
 * lags is safe whatever its lag (docs/design.md, "Renewals kept by ingest"), but in a lease group the
 * copies in the other clusters follow the recorded renewals and must stay inside their lease
 * duration, so a group's lease keeps its bound.
 */
function boundUntil(
  clock: () => Millis,
  handsOverAt: Millis,
): (leaseDurationSeconds: number, key: LeaseKey) => Millis {
  return (seconds, key) =>
    clock() >= handsOverAt && clustersOf(key).length === 1
      ? Number.POSITIVE_INFINITY
      : renewalRecordBoundMs(seconds);
}
