import { addAbortListener } from 'node:events';
import type { CandidateApiVersion } from '../election/types.js';
import { UnstoredListError } from '../errors.js';
import type { ClusterPort, ListResult, RawObject, WatchPhase } from '../ports/cluster.js';
import type { IngestDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import { pause, untilAborted } from './abortable.js';
import { CandidateApiReport, REDISCOVER_EVERY_MS, watchForOtherApi } from './candidate-api.js';
import { type Watching, watchFrom } from './cluster-watches.js';
import type { RecordedRelease } from './decide-now.js';
import { CANDIDATES, HandledVersions } from './handled-versions.js';
import { HolderHints } from './holder-hints.js';
import { ingestLease, type LeaseOutcome } from './ingest.js';
import { ingestCandidate } from './ingest-candidate.js';
import { IngestQueue } from './ingest-queue.js';

export interface IngestRunnerOptions {
  /** Called for a lease whose mirror copy in some cluster differs from the decision. */
  readonly onDrift?: (key: LeaseKey) => Promise<unknown>;
  /**
   * Called for a lease that a stored event may need decided at once: a new candidate, an answer to
   * a ping, a released Lease. The stream into elect remains the path of record; this only saves
   * the two stream polls between a cluster change and the Lease that shows its outcome.
   */
  readonly onChange?: (key: LeaseKey, release?: RecordedRelease) => void;
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
}

/**
 * Keeps one cluster's LeaseCandidates and coordinated Leases flowing into the table: a list,
 * then watches from the list's resourceVersion, processing events in order, and a fresh list
 * whenever a watch ends (the apiserver closes them every few minutes, or the cluster went away).
 * Events are stored within milliseconds of the apiserver sending them: no polling interval.
 */
export async function runClusterIngest(
  deps: IngestDeps,
  cluster: string,
  signal: AbortSignal,
  options: IngestRunnerOptions = {},
): Promise<void> {
  const run: ClusterRun = {
    deps,
    cluster,
    signal,
    options,
    // Kept across relists: a hint is checked by every write it leads to.
    hints: new HolderHints(),
    handled: new HandledVersions(),
    api: new CandidateApiReport(deps.logger, cluster, options.onCandidateApi),
  };
  let seed = options.stored;
  // A run stopped before it reads the seed must not leave the scan's failure unhandled.
  seed?.catch(() => undefined);
  while (!signal.aborted) {
    try {
      const client = await untilAborted(signal, deps.clusters.get(cluster));
      await listAndWatch(run, client, seed);
      seed = undefined;
    } catch (error) {
      if (signal.aborted) return;
      // An object not stored was counted when its write failed.
      if (!(error instanceof UnstoredListError)) deps.metrics?.record('IngestErrors', 1, cluster);
      deps.logger.warn('cluster ingest interrupted; retrying', { cluster, error: error as Error });
      await pause(1000, signal);
    }
  }
}

/** One cluster's ingest, what it keeps across relists. */
interface ClusterRun {
  readonly deps: IngestDeps;
  readonly cluster: string;
  readonly signal: AbortSignal;
  readonly options: IngestRunnerOptions;
  readonly hints: HolderHints;
  readonly handled: HandledVersions;
  readonly api: CandidateApiReport;
}

interface Lists {
  readonly leases: ListResult;
  /** Undefined where the cluster serves no LeaseCandidate API. */
  readonly candidates: ListResult | undefined;
}

/**
 * One list, then watches from the lists' resourceVersions until a watch ends (the apiserver closes
 * them every few minutes, the cluster went away), an event could not be stored, or the cluster
 * came to serve a better LeaseCandidate API: each ends in a relist by the caller.
 *
 * A stop that comes while the lists are read or stored ends the run there: each phase is awaited
 * until the signal aborts. What the lists left unstored is dropped (the next run lists it again);
 * only the writes already under way are waited for, so nothing runs on after the invocation returns.
 */
async function listAndWatch(
  run: ClusterRun,
  client: ClusterPort,
  seed: IngestRunnerOptions['stored'],
): Promise<void> {
  // Asked again on every relist: the built-in API where it is served, else the CRD, else nothing.
  const version = await untilAborted(run.signal, client.candidateVersion());
  run.api.seen(version);
  const queue = new IngestQueue(run.signal, run.handled, (error) => {
    run.deps.metrics?.record('IngestErrors', 1, run.cluster);
    run.deps.logger.error('ingest event failed; relisting', { cluster: run.cluster, error: error as Error });
  });
  const lists = await readLists(run.signal, client, version);
  // Every Lease is looked at again: one unchanged in its cluster can still differ from a decision
  // made while the cluster was out, and ingest's drift check is what repairs it on its return.
  // Queued before any watch event can arrive, so each Lease's listed state is handled before its events.
  for (const lease of lists.leases.items) queue.push('leases', lease, () => handleLease(run, lease));
  // The watches start as soon as both lists are read, not after what they show is stored: at
  // 1,000 leases storing took 8 s, in which a new ingest run saw nothing, and the run it replaces
  // stops after a few seconds of overlap (docs/reliability.md, "ingest's duty cycle"). Their events
  // share the queue with the listed objects: the newest pending event of an object replaces the
  // others, and one that overtakes an object's listed state is safe, since every table write of
  // ingest is conditional on being newer (an older one is refused as stale).
  const watching = watchFrom(client, version, lists, (path, phase, object) => {
    // Its lag runs from its arrival to its change stored (a listed object has no arrival to time).
    const receivedAt = run.deps.clock();
    const work = async () => {
      await handleWatched(run, path, phase, object);
      run.deps.metrics?.record('IngestLag', run.deps.clock() - receivedAt, run.cluster);
    };
    queue.push(path, object, work, phase);
  });
  queue.whenFailed(watching.stop);
  const relist = relistControl(run, client, version, queue, watching);
  try {
    await storeLists(run, queue, lists, seed);
    // Watching on from this list's resourceVersion would never show the failed object again unless
    // it changed: relist instead (after the caller's pause).
    if (queue.failed)
      throw new UnstoredListError(`cluster ${run.cluster}: an object of the list was not stored; relisting`);
    run.options.onSynced?.(true);
    await watching.ended;
  } finally {
    run.options.onSynced?.(false);
    relist[Symbol.dispose]();
    watching.stop();
    if (run.signal.aborted) queue.dropPending();
    await queue.idle();
  }
}

/** The Lease list, then the LeaseCandidate list where the cluster serves one; each given up on a stop. */
async function readLists(
  signal: AbortSignal,
  client: ClusterPort,
  version: CandidateApiVersion | undefined,
): Promise<Lists> {
  const leases = await untilAborted(signal, client.listLeases());
  const candidates =
    version === undefined ? undefined : await untilAborted(signal, client.listCandidates(version));
  signal.throwIfAborted();
  return { leases, candidates };
}

/**
 * Stores what the lists show. Leases first: a Lease a legacy elector already holds is on record
 * before the listed candidates can trigger an election (the decider also reads it before a first
 * decision). Then the candidates, but for those whose resourceVersion the table already holds (the
 * seed, on a run's first list) or this run already handled.
 */
async function storeLists(
  run: ClusterRun,
  queue: IngestQueue,
  lists: Lists,
  seed: IngestRunnerOptions['stored'],
): Promise<void> {
  await untilAborted(run.signal, queue.idle());
  const stored = await untilAborted(
    run.signal,
    seed?.catch((error: unknown) => {
      run.deps.logger.warn('cannot read the stored candidates; the first list writes them all', {
        cluster: run.cluster,
        error: error as Error,
      });
      return undefined;
    }) ?? Promise.resolve(undefined),
  );
  run.handled.seed(stored);
  const candidates = lists.candidates?.items ?? [];
  run.handled.forgetUnlisted(candidates);
  for (const candidate of candidates)
    queue.pushListed(CANDIDATES, candidate, () => handleCandidate(run, 'ADDED', candidate));
  await untilAborted(run.signal, queue.idle());
}

/**
 * What ends a list-and-watch besides a watch ending or a failed event: a stop (pending events are
 * dropped, the watches stopped), and, for a cluster reading the CRD or nothing, the cluster coming
 * to serve something better (the CRD applied after ingest started, the gate turned on): the
 * watches are stopped, so the caller relists and reads it without a restart. Dispose when done.
 */
function relistControl(
  run: ClusterRun,
  client: ClusterPort,
  version: CandidateApiVersion | undefined,
  queue: IngestQueue,
  watching: Watching,
): Disposable {
  const rediscovering = new AbortController();
  void watchForOtherApi(
    client,
    version,
    run.options.rediscoverEveryMs ?? REDISCOVER_EVERY_MS,
    rediscovering.signal,
    () => watching.stop(),
    run.deps.logger,
  );
  // Fires at once if the signal has aborted already (a plain listener would never be called).
  const onStop = addAbortListener(run.signal, () => {
    queue.dropPending();
    watching.stop();
  });
  return {
    [Symbol.dispose]: () => {
      rediscovering.abort();
      // The signal outlives this list-and-watch; a listener left on it would pile up with each relist.
      onStop[Symbol.dispose]();
    },
  };
}

/** A watch event: a deleted Lease needs nothing (its decision stands), a LeaseCandidate event is stored. */
function handleWatched(
  run: ClusterRun,
  path: 'leases' | 'leasecandidates',
  phase: WatchPhase,
  object: RawObject,
): Promise<void> {
  if (path === 'leasecandidates') return handleCandidate(run, phase, object, true);
  return phase === 'DELETED' ? Promise.resolve() : handleLease(run, object);
}

async function handleCandidate(
  { deps, cluster, options }: ClusterRun,
  phase: WatchPhase,
  raw: RawObject,
  watched = false,
) {
  const { outcome, key } = await ingestCandidate(deps, cluster, phase, raw, watched);
  deps.logger.debug('candidate event', { cluster, phase, name: raw.metadata?.name, outcome, spec: raw.spec });
  if (outcome === 'stored' && key !== undefined && (phase === 'ADDED' || answersPing(raw)))
    options.onChange?.(key);
  options.onEvent?.();
}

async function handleLease({ deps, cluster, options, hints }: ClusterRun, raw: RawObject) {
  const { outcome, key, repair, released } = await ingestLease(deps, cluster, raw, { hints });
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
