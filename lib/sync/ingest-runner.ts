import { addAbortListener } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CandidateApiVersion } from '../election/types.js';
import { CoordinatorError } from '../errors.js';
import type { ClusterPort, RawObject, WatchPhase } from '../ports/cluster.js';
import type { IngestDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { CoordinatorStore } from '../ports/store.js';
import { CandidateApiReport, REDISCOVER_EVERY_MS, watchForOtherApi } from './candidate-api.js';
import { HolderHints } from './holder-hints.js';
import { ingestCandidate, ingestLease } from './ingest.js';
import { LatestPerKeyQueue } from './latest-per-key-queue.js';

/** The kind whose handled resourceVersions are remembered across relists (the bulk of a list). */
const CANDIDATES = 'leasecandidates';

/** Objects of one cluster handled at once; each object's own events stay in order. */
const INGEST_CONCURRENCY = 16;

export interface IngestRunnerOptions {
  /** Called for a lease whose mirror copy in some cluster differs from the decision. */
  readonly onDrift?: (key: LeaseKey) => Promise<unknown>;
  /**
   * Called for a lease that a stored event may need decided at once: a new candidate, an answer to
   * a ping, a released Lease. The stream into elect remains the path of record; this only saves
   * the two stream polls between a cluster change and the Lease that shows its outcome.
   */
  readonly onChange?: (key: LeaseKey) => void;
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
}

/** An object's key in ingest's queue, and a LeaseCandidate's in what ingest remembers it handled. */
function objectId(kind: string, namespace: string | undefined, name: string | undefined): string {
  return `${kind}/${namespace}/${name}`;
}

/**
 * The resourceVersion at which the table holds each LeaseCandidate read from a cluster, by
 * cluster, from one scan of the table: what a starting ingest need not write again.
 */
export async function storedCandidateVersions(
  store: Pick<CoordinatorStore, 'scanLeases'>,
): Promise<Map<string, Map<string, string>>> {
  const byCluster = new Map<string, Map<string, string>>();
  for await (const { state } of store.scanLeases()) {
    for (const c of state?.candidates ?? []) {
      if (c.resourceVersion === undefined) continue;
      const known = byCluster.get(c.cluster) ?? new Map<string, string>();
      known.set(objectId(CANDIDATES, c.namespace, c.name), c.resourceVersion);
      byCluster.set(c.cluster, known);
    }
  }
  return byCluster;
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
  // Kept across relists: a hint is checked by every write it leads to.
  const hints = new HolderHints();
  const handled = new Map<string, string>();
  let seed = options.stored;
  const api = new CandidateApiReport(deps.logger, cluster, options.onCandidateApi);
  // A run stopped before it reads the seed must not leave the scan's failure unhandled.
  seed?.catch(() => undefined);
  while (!signal.aborted) {
    try {
      const client = await untilAborted(signal, deps.clusters.get(cluster));
      await listAndWatch(deps, cluster, client, signal, options, hints, handled, seed, api);
      seed = undefined;
    } catch (error) {
      if (signal.aborted) return;
      deps.logger.warn('cluster ingest interrupted; retrying', { cluster, error: error as Error });
      await pause(1000, signal);
    }
  }
}

async function listAndWatch(
  deps: IngestDeps,
  cluster: string,
  client: ClusterPort,
  signal: AbortSignal,
  options: IngestRunnerOptions,
  hints: HolderHints,
  /**
   * The resourceVersion of each LeaseCandidate whose latest event was handled (stored, or found
   * already stored), kept across relists: a relist skips the candidates it shows unchanged. Without it every
   * relist wrote every object again, and one write failing among 30,000 (the bench's 10,000-lease
   * setup) started another full relist: a storm that stopped ingest for good. A cache that is safe
   * to lose: a fresh one only costs a full relist.
   */
  handled: Map<string, string>,
  seed: IngestRunnerOptions['stored'],
  api: CandidateApiReport,
): Promise<void> {
  // Asked again on every relist: the built-in API where it is served, else the CRD, else nothing.
  const version = await untilAborted(signal, client.candidateVersion());
  api.seen(version);
  // An event that could not be stored (the table throttled, say) is not dropped: the watches are
  // stopped and a relist reads it again.
  let failed = false;
  let stopWatches = () => {};
  const queue = new LatestPerKeyQueue(INGEST_CONCURRENCY, (error) => {
    deps.logger.error('ingest event failed; relisting', { cluster, error: error as Error });
    failed = true;
    stopWatches();
  });
  const idOf = (kind: string, object: RawObject) =>
    objectId(kind, object.metadata?.namespace, object.metadata?.name);
  const enqueue = (kind: string, object: RawObject, work: () => Promise<unknown>, phase?: WatchPhase) => {
    // A stopping run takes nothing more on: the next run lists it again.
    if (signal.aborted) return;
    const id = idOf(kind, object);
    const rv = object.metadata?.resourceVersion;
    queue.push(id, async () => {
      handled.delete(id);
      await work();
      // A deleted object is forgotten: names come and go (client-go's carry a UUID per process start).
      if (kind === CANDIDATES && rv !== undefined && phase !== 'DELETED') handled.set(id, rv);
    });
  };
  /** A listed object: skipped when its latest event was handled at this very resourceVersion. */
  const enqueueListed = (kind: string, object: RawObject, work: () => Promise<unknown>) => {
    const id = idOf(kind, object);
    const rv = object.metadata?.resourceVersion;
    if (rv === undefined || handled.get(id) !== rv) enqueue(kind, object, work);
  };
  // A stop that comes while the lists are read or stored ends the run there: each phase is awaited
  // until the signal aborts. What the lists left unstored is dropped (the next run lists it again);
  // only the writes already under way are waited for, so nothing runs on after the invocation returns.
  const stopping = <T>(phase: Promise<T>): Promise<T> => untilAborted(signal, phase);
  const leases = await stopping(client.listLeases());
  const candidates = version === undefined ? undefined : await stopping(client.listCandidates(version));
  signal.throwIfAborted();
  // Every Lease is looked at again: one unchanged in its cluster can still differ from a decision
  // made while the cluster was out, and ingest's drift check is what repairs it on its return.
  // Queued before any watch event can arrive, so each Lease's listed state is handled before its events.
  for (const lease of leases.items)
    enqueue('leases', lease, () => handleLease(deps, cluster, lease, options, hints));

  // The watches start as soon as both lists are read, not after what they show is stored: at
  // 1,000 leases storing took 8 s, in which a new ingest run saw nothing, and the run it replaces
  // stops after a few seconds of overlap (docs/reliability.md, "ingest's duty cycle"). Their events
  // share the queue with the listed objects: the newest pending event of an object replaces the
  // others, and one that overtakes an object's listed state is safe, since every table write of
  // ingest is conditional on being newer (an older one is refused as stale).
  const watching = watchFrom(
    client,
    version,
    { leases: leases.resourceVersion, candidates: candidates?.resourceVersion },
    (path, phase, object) =>
      enqueue(
        path,
        object,
        () =>
          path === 'leases'
            ? phase === 'DELETED'
              ? Promise.resolve()
              : handleLease(deps, cluster, object, options, hints)
            : handleCandidate(deps, cluster, phase, object, options),
        phase,
      ),
  );
  stopWatches = watching.stop;
  // A cluster reading the CRD or nothing may serve something better at any time (the CRD applied
  // after ingest started, the gate turned on): relist then, to read it without a restart.
  const rediscovering = new AbortController();
  void watchForOtherApi(
    client,
    version,
    options.rediscoverEveryMs ?? REDISCOVER_EVERY_MS,
    rediscovering.signal,
    () => watching.stop(),
    deps.logger,
  );
  // Fires at once if the signal has aborted already (a plain listener would never be called).
  const onStop = addAbortListener(signal, () => {
    queue.dropPending();
    watching.stop();
  });
  try {
    // Leases first: a Lease a legacy elector already holds is on record before the listed
    // candidates can trigger an election (the decider also reads it before a first decision).
    await stopping(queue.idle());
    const stored = await stopping(
      seed?.catch((error: unknown) => {
        deps.logger.warn('cannot read the stored candidates; the first list writes them all', {
          cluster,
          error: error as Error,
        });
        return undefined;
      }) ?? Promise.resolve(undefined),
    );
    for (const [id, rv] of stored ?? []) if (!handled.has(id)) handled.set(id, rv);
    forgetUnlisted(handled, candidates?.items ?? []);
    for (const candidate of candidates?.items ?? [])
      enqueueListed(CANDIDATES, candidate, () => handleCandidate(deps, cluster, 'ADDED', candidate, options));
    await stopping(queue.idle());
    // Watching on from this list's resourceVersion would never show the failed object again unless
    // it changed: relist instead (after the caller's pause).
    if (failed)
      throw new CoordinatorError(`cluster ${cluster}: an object of the list was not stored; relisting`);
    await watching.ended;
  } finally {
    rediscovering.abort();
    watching.stop();
    // The signal outlives this list-and-watch; a listener left on it would pile up with each relist.
    onStop[Symbol.dispose]();
    if (signal.aborted) queue.dropPending();
    await queue.idle();
  }
}

interface Watching {
  /** Resolves once the watches have ended or been stopped. */
  readonly ended: Promise<void>;
  stop(): void;
}

/**
 * Watches the cluster's Leases and (when it serves them) LeaseCandidates from the lists'
 * resourceVersions. When either watch ends, both are stopped and `ended` resolves: the caller
 * relists, since resourceVersions may have expired.
 */
function watchFrom(
  client: ClusterPort,
  version: CandidateApiVersion | undefined,
  from: { readonly leases: string; readonly candidates: string | undefined },
  onEvent: (path: 'leases' | 'leasecandidates', phase: WatchPhase, object: RawObject) => void,
): Watching {
  const watches: Promise<AbortController>[] = [];
  let resolveEnded: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    resolveEnded = resolve;
  });
  const stop = () => {
    for (const w of watches) w.then((c) => c.abort()).catch(() => undefined);
    resolveEnded();
  };
  const start = (path: 'leases' | 'leasecandidates', apiVersion: 'v1' | CandidateApiVersion, rv: string) => {
    watches.push(
      client.watch(
        path,
        apiVersion,
        rv,
        (phase, object) => phase !== 'BOOKMARK' && onEvent(path, phase, object),
        stop,
      ),
    );
  };
  start('leases', 'v1', from.leases);
  if (version !== undefined && from.candidates !== undefined)
    start('leasecandidates', version, from.candidates);
  return { ended, stop };
}

async function handleCandidate(
  deps: IngestDeps,
  cluster: string,
  phase: WatchPhase,
  raw: RawObject,
  options: IngestRunnerOptions,
) {
  const { outcome, key } = await ingestCandidate(deps, cluster, phase, raw);
  deps.logger.debug('candidate event', { cluster, phase, name: raw.metadata?.name, outcome, spec: raw.spec });
  if (outcome === 'stored' && key !== undefined && (phase === 'ADDED' || answersPing(raw)))
    options.onChange?.(key);
  options.onEvent?.();
}

async function handleLease(
  deps: IngestDeps,
  cluster: string,
  raw: RawObject,
  options: IngestRunnerOptions,
  hints: HolderHints,
) {
  const { outcome, key, repair } = await ingestLease(deps, cluster, raw, { hints });
  if (outcome !== 'unchanged' && outcome !== 'ignored')
    deps.logger.debug('lease event', { cluster, lease: key, outcome, spec: raw.spec });
  if ((outcome === 'drift' || repair === true) && key !== undefined) await options.onDrift?.(key);
  if (outcome === 'release' && key !== undefined) options.onChange?.(key);
  options.onEvent?.();
}

/** Forgets the LeaseCandidates a fresh list no longer shows (deleted while nobody watched). */
function forgetUnlisted(handled: Map<string, string>, listed: readonly RawObject[]): void {
  const ids = new Set(listed.map((o) => objectId(CANDIDATES, o.metadata?.namespace, o.metadata?.name)));
  for (const id of handled.keys()) if (!ids.has(id)) handled.delete(id);
}

/** A candidate renewed at or after its pingTime: the ack an election may be waiting for. */
function answersPing(raw: RawObject): boolean {
  const spec = raw.spec as { pingTime?: unknown; renewTime?: unknown } | undefined;
  if (typeof spec?.pingTime !== 'string' || typeof spec.renewTime !== 'string') return false;
  return Date.parse(spec.renewTime) >= Date.parse(spec.pingTime);
}

/**
 * Settles as `work` does, or rejects with the signal's reason as soon as it aborts, at once if it
 * has already: a list of a large or hung cluster is not waited out by a run that is stopping.
 * The work itself runs on to its own end (every apiserver request is bounded by its timeout).
 */
export function untilAborted<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const listener = addAbortListener(signal, () => reject(signal.reason));
    work.then(resolve, reject).finally(() => listener[Symbol.dispose]());
  });
}

/** Waits `ms`, or less if the signal aborts (node's own timer: it removes its abort listener). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch((error: unknown) => {
    if ((error as Error).name !== 'AbortError') throw error;
  });
}
