import type { CandidateApiVersion } from '../election/types.js';
import type { RawObject, WatchPhase } from '../ports/cluster.js';
import type { IngestDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { LeaseState } from '../ports/store.js';
import type { CandidateApiReport } from './candidate-api.js';
import type { KnownChange, RecordedRelease } from './decide-now.js';
import type { HandledVersions } from './handled-versions.js';
import type { HolderHints } from './holder-hints.js';
import { type IngestLeaseOptions, ingestLease, type LeaseOutcome, type ReleaseTakeover } from './ingest.js';
import { ingestCandidate } from './ingest-candidate.js';
import { NewCandidateReads } from './new-candidate-reads.js';
import type { UnrecordedRelease } from './release-takeover.js';
import type { FirstSightings } from './renewal-sightings.js';

export interface IngestRunnerOptions {
  /** Called for a lease whose mirror copy in some cluster differs from the decision. */
  readonly onDrift?: (key: LeaseKey) => Promise<unknown>;
  /**
   * Called for a lease that a stored event may need decided at once: a new candidate, an answer to
   * a ping, a released Lease. The stream into elect remains the path of record; this only saves
   * the two stream polls between a cluster change and the Lease that shows its outcome. A release
   * and a new candidate come with what ingest knows of the lease (decide-now.ts), the latter once
   * the reads beside its write are in (ingest does not wait for them).
   */
  readonly onChange?: (key: LeaseKey, known?: RecordedRelease | Promise<KnownChange | undefined>) => void;
  /**
   * Offered each release before ingest records it, to write the takeover in its place
   * (release-takeover.ts); a release it declines or loses is recorded and goes to onChange.
   */
  readonly onRelease?: (key: LeaseKey, release: UnrecordedRelease) => Promise<ReleaseTakeover>;
  /** Called after each event is stored (tests await drains; the local runtime refreshes its view). */
  readonly onEvent?: () => void;
  /**
   * LeaseCandidates the table already holds at a resourceVersion (`storedCandidateVersions`): the
   * first list skips them too. The deployed ingest starts afresh every minute, and without this
   * its first list would write every candidate of the cluster again each time. A promise, so the
   * table scan runs alongside the cluster's lists; it is awaited only before the first candidate
   * list is handled, and one that fails only costs that list its skips.
   */
  readonly stored?: Promise<ReadonlyMap<string, string> | undefined>;
  /**
   * Called when ingest learns which LeaseCandidate API it reads in the cluster, and each time that
   * changes: undefined when the cluster serves none (the live view shows it).
   */
  readonly onCandidateApi?: (api: CandidateApiVersion | undefined) => void;
  /** How often a cluster without the built-in API is asked what it serves (REDISCOVER_EVERY_MS). */
  readonly rediscoverEveryMs?: number;
  /** Called after each coordinated Lease event is handled (ingest's kept deadlines, ingest-deadlines.ts). */
  readonly onLease?: (key: LeaseKey, raw: RawObject, outcome: LeaseOutcome) => void;
  /** Called with true once a list is stored (every Lease since is seen), false when its watch ends. */
  readonly onSynced?: (synced: boolean) => void;
  /** Where each holder renewal shown is noted as first seen, for the process's own steps (renewal-sightings.ts). */
  readonly sightings?: FirstSightings;
  /**
   * The holders' hints to start from, seeded by the run's start scan (`stored` settles once it has
   * read them all): a fresh run's first list then writes a renewal only where a running ingest would.
   */
  readonly hints?: HolderHints;
  /** How far a held lease's recorded deadline may lag before a renewal is recorded (IngestLeaseOptions). */
  readonly renewalBoundMs?: IngestLeaseOptions['renewalBoundMs'];
}

/** One cluster's ingest, what it keeps across relists. */
export interface ClusterRun {
  readonly deps: IngestDeps;
  readonly cluster: string;
  readonly signal: AbortSignal;
  readonly options: IngestRunnerOptions;
  readonly hints: HolderHints;
  readonly handled: HandledVersions;
  readonly api: CandidateApiReport;
  /**
   * The cluster served a LeaseCandidate API, then listed none, and still did after a rediscovery
   * interval of looks: it is reported (startingAgain).
   */
  unservedPersists: boolean;
}

/** A watch event: a deleted Lease needs nothing (its decision stands), a LeaseCandidate event is stored. */
export function handleWatched(
  run: ClusterRun,
  path: 'leases' | 'leasecandidates',
  phase: WatchPhase,
  object: RawObject,
): Promise<void> {
  if (path === 'leasecandidates') return handleCandidate(run, phase, object, true);
  return phase === 'DELETED' ? Promise.resolve() : handleLease(run, object);
}

export async function handleCandidate(
  { deps, cluster, options }: ClusterRun,
  phase: WatchPhase,
  raw: RawObject,
  watched = false,
) {
  // A new candidate's election reads what it needs beside the candidate's write (new-candidate-reads.ts).
  const reads =
    watched && phase === 'ADDED' && options.onChange !== undefined ? new NewCandidateReads(deps) : undefined;
  const { outcome, key, stored } = await ingestCandidate(deps, cluster, phase, raw, watched, reads?.start);
  deps.logger.debug('candidate event', { cluster, phase, name: raw.metadata?.name, outcome, spec: raw.spec });
  if (outcome === 'stored' && key !== undefined && (phase === 'ADDED' || answersPing(raw)))
    options.onChange?.(key, reads?.known(cluster, stored));
  options.onEvent?.();
}

export async function handleLease({ deps, cluster, options, hints }: ClusterRun, raw: RawObject) {
  const { onRelease, sightings, renewalBoundMs } = options;
  const { outcome, key, repair, released } = await ingestLease(deps, cluster, raw, {
    hints,
    ...(sightings !== undefined && { sightings }),
    ...(renewalBoundMs !== undefined && { renewalBoundMs }),
    ...(onRelease !== undefined && {
      takeOverRelease: (key: LeaseKey, unrecorded: LeaseState) =>
        onRelease(key, { unrecorded, cluster, lease: raw }),
    }),
  });
  if (outcome !== 'unchanged' && outcome !== 'ignored')
    deps.logger.debug('lease event', { cluster, lease: key, outcome, spec: raw.spec });
  if (key !== undefined && outcome !== 'ignored') options.onLease?.(key, raw, outcome);
  if ((outcome === 'drift' || repair === true) && key !== undefined) await options.onDrift?.(key);
  // The holder's cluster has just answered with this very Lease: the successor's read there and
  // the mirror's read before its write are both answered by it.
  if (outcome === 'release' && key !== undefined)
    options.onChange?.(
      key,
      released === undefined
        ? undefined
        : { known: { state: released, answered: [cluster] }, cluster, lease: raw },
    );
  options.onEvent?.();
}

/** A candidate renewed at or after its pingTime: the ack an election may be waiting for. */
function answersPing(raw: RawObject): boolean {
  const spec = raw.spec as { pingTime?: unknown; renewTime?: unknown } | undefined;
  if (typeof spec?.pingTime !== 'string' || typeof spec.renewTime !== 'string') return false;
  return Date.parse(spec.renewTime) >= Date.parse(spec.pingTime);
}
