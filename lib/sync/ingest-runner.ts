import { addAbortListener } from 'node:events';
import type { CandidateApiVersion } from '../election/types.js';
import { UnstoredListError } from '../errors.js';
import type { ClusterPort, ListResult } from '../ports/cluster.js';
import type { IngestDeps } from '../ports/coordinator.js';
import { pause, untilAborted } from './abortable.js';
import {
  backingOff,
  CandidateApiReport,
  every,
  REDISCOVER_EVERY_MS,
  STARTING_AGAIN_FIRST_LOOK_MS,
  watchForOtherApi,
} from './candidate-api.js';
import { type Watching, watchFrom } from './cluster-watches.js';
import { CANDIDATES, HandledVersions } from './handled-versions.js';
import { HolderHints } from './holder-hints.js';
import { IngestQueue } from './ingest-queue.js';
import {
  type ClusterRun,
  handleCandidate,
  handleLease,
  handleWatched,
  type IngestRunnerOptions,
} from './ingest-run.js';

export type { IngestRunnerOptions } from './ingest-run.js';

/**
 * How long a run's first list waits for the start scan's hints. The sweep's scan took 0.63 s at
 * 1,000 leases and 18.8 s at 10,000 on DynamoDB Local (docs/reliability.md, "The sweep scans"); a
 * Lease handled before its hint costs a read and a write, not a missed change.
 */
const SCAN_WAIT_MS = 2_000;

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
    hints: options.hints ?? new HolderHints(),
    handled: new HandledVersions(),
    api: new CandidateApiReport(deps.logger, cluster, options.onCandidateApi),
    unservedPersists: false,
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
  const settling = startingAgain(run, version);
  if (!settling) run.api.seen(version);
  const queue = new IngestQueue(run.signal, run.handled, (error) => {
    run.deps.metrics?.record('IngestErrors', 1, run.cluster);
    run.deps.logger.error('ingest event failed; relisting', { cluster: run.cluster, error: error as Error });
  });
  const lists = await readLists(run.signal, client, version);
  // Every Lease is looked at again: one unchanged in its cluster can still differ from a decision
  // made while the cluster was out, and ingest's drift check is what repairs it on its return.
  // Queued before any watch event can arrive, so each Lease's listed state is handled before its events.
  // A run's first list waits for the start scan, which seeds the holders' hints (HolderHints):
  // a Lease renewed since its record is then kept or written without a read, as in a running ingest.
  // Not for long: the waiting Leases hold the queue's slots, and every event waits behind them.
  const scanned = seed === undefined ? undefined : settled(run.signal, seed, SCAN_WAIT_MS);
  for (const lease of lists.leases.items)
    queue.push('leases', lease, async () => {
      await scanned;
      if (!run.signal.aborted) await handleLease(run, lease);
    });
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
  const relist = relistControl(run, client, version, queue, watching, settling);
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

/**
 * Resolves once `work` settles either way, `ms` have passed, or the signal aborts: a wait that never
 * fails, and holds one listener on the run's signal while it waits (ingestClusters counts them).
 */
function settled(signal: AbortSignal, work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    let listener: Disposable | undefined;
    const timer = setTimeout(() => done(), ms);
    const done = () => {
      clearTimeout(timer);
      listener?.[Symbol.dispose]();
      resolve();
    };
    listener = addAbortListener(signal, done);
    work.then(done, done);
  });
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
 * A cluster that served a LeaseCandidate API in this run and now lists none is taken for an
 * apiserver starting again (one that has just started lists a single API group for a moment, then
 * all of them; the agent meets the same), not for the CRD removed: nothing is reported yet, and it
 * is looked at again soon, backing off, for one rediscovery interval (relistControl). Only what
 * persists past that is reported, with the warning a cluster serving nothing gets.
 */
function startingAgain(run: ClusterRun, version: CandidateApiVersion | undefined): boolean {
  if (version !== undefined) {
    run.unservedPersists = false;
    return false;
  }
  return run.api.served && !run.unservedPersists;
}

/**
 * What ends a list-and-watch besides a watch ending or a failed event: a stop (pending events are
 * dropped, the watches stopped), and, for a cluster reading the CRD or nothing, the cluster coming
 * to serve something better (the CRD applied after ingest started, the gate turned on): the
 * watches are stopped, so the caller relists and reads it without a restart. A cluster that may be
 * starting again (`settling`: startingAgain) is looked at sooner, backing off, and relisted either
 * when it serves its API again or when the looks add up to a rediscovery interval. Dispose when done.
 */
function relistControl(
  run: ClusterRun,
  client: ClusterPort,
  version: CandidateApiVersion | undefined,
  queue: IngestQueue,
  watching: Watching,
  settling: boolean,
): Disposable {
  const rediscovering = new AbortController();
  const everyMs = run.options.rediscoverEveryMs ?? REDISCOVER_EVERY_MS;
  void watchForOtherApi(
    client,
    version,
    settling ? backingOff(STARTING_AGAIN_FIRST_LOOK_MS, everyMs) : every(everyMs),
    rediscovering.signal,
    {
      changed: () => watching.stop(),
      unchanged: () => {
        run.unservedPersists = true;
        watching.stop();
      },
    },
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
