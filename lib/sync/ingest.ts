import { parseLease } from '../api/lease.js';
import { holderHome } from '../coordinator/holder-home.js';
import { renewalRecordBoundMs } from '../election/timing.js';
import type { Millis } from '../election/types.js';
import { CoordinatorError, onConditionFailed } from '../errors.js';
import type { RawObject } from '../ports/cluster.js';
import type { IngestDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { LeaseObservation, LeaseState, StoredLease } from '../ports/store.js';
import { planMirror, viewOf } from './desired-lease.js';
import { type HolderHints, rememberHolder } from './holder-hints.js';
import {
  askedToYield,
  isCopy,
  judgeHomeLease,
  type LeaseEvent,
  recordedHolder,
  takenByAnother,
  termAhead,
} from './lease-rules.js';
import { needsRepair, optionsFor, renewByHint } from './renew-by-hint.js';
import type { FirstSightings } from './renewal-sightings.js';
import { recordTakenLease } from './taken-lease.js';

export type LeaseOutcome =
  | 'renewal'
  /** A renewal by the holder ingest last recorded, within its bound: kept in memory, not recorded. */
  | 'kept'
  | 'release'
  /** A release taken over in the same write: the successor named over the holder's record (release-takeover.ts). */
  | 'takeover'
  | 'observed'
  | 'drift'
  | 'unchanged'
  | 'ignored';

export interface IngestLeaseOptions {
  /** The runner's memory of holders, for renewals written without a read (or not written). */
  readonly hints?: HolderHints;
  /** The process's first sightings of holders' renewals, which its own steps judge records by. */
  readonly sightings?: FirstSightings;
  /**
   * How far the recorded deadline of a held lease may lag the one a renewal would record before
   * ingest records it (renewalRecordBoundMs unless given; 0 records every renewal).
   */
  readonly renewalBoundMs?: (leaseDurationSeconds: number, key: LeaseKey) => Millis;
  /**
   * Offered a release before ingest records it: the lease as the release would leave it, still at
   * the version read, so that a takeover can be written in its place (release-takeover.ts).
   * `declined` and `lost` leave the release to ingest, as without this.
   */
  readonly takeOverRelease?: (key: LeaseKey, unrecorded: LeaseState) => Promise<ReleaseTakeover>;
}

/** What became of a release offered first to be taken over (takeOverRelease). */
export type ReleaseTakeover =
  /** A decision naming the successor was written in place of the release. */
  | 'taken'
  /** No successor to name at once (none alive, a ping first): ingest records the release. */
  | 'declined'
  /** The step went otherwise (a lost compare-and-set, a failure): ingest records the release from a fresh read. */
  | 'lost';

export interface LeaseIngested {
  readonly outcome: LeaseOutcome;
  readonly key?: LeaseKey;
  /**
   * The holder's own cluster lacks part of the decision (a renew or a legacy renewer stripped
   * strategy or preferredHolder, or the term): the mirror must put it back.
   */
  readonly repair?: boolean;
  /** A release: the lease as ingest's write left it, for the fast path to decide on without a read. */
  readonly released?: LeaseState;
}

/**
 * Carries one coordinated Lease event into the table. In the holder's own cluster the Lease is
 * the truth about the holder (renewals, releases, a legacy elector taking it); in the other
 * clusters of a group it only mirrors the decision, so a difference there is drift to repair.
 */
export async function ingestLease(
  deps: IngestDeps,
  cluster: string,
  raw: RawObject,
  options: IngestLeaseOptions = {},
): Promise<LeaseIngested> {
  const { hints, renewalBoundMs = renewalRecordBoundMs } = options;
  const event = parseLeaseEvent(deps, cluster, raw);
  if (event === undefined) return { outcome: 'ignored' };
  const { key } = event;
  if (options.sightings !== undefined) sawRenewal(options.sightings, event, deps.clock());
  if (hints !== undefined) {
    const renewed = await renewByHint(deps, event, hints, renewalBoundMs);
    if (renewed !== undefined) return renewed;
  }
  const loaded = await deps.store.loadLease(key);
  const { lease: stored, candidates } = loaded;
  // Leases nobody competes for through us (plain client-go elections) are not ours. Node heartbeats
  // and apiserver identity leases are not even listed (NEVER_COORDINATED in lib/kube/cluster.ts).
  if (stored === undefined && candidates.length === 0) return { outcome: 'ignored', key };
  const home = holderHome(key, loaded, event.view) === cluster;
  if (isCopy(home, event, stored)) return ingestOtherClusterCopy(deps, event, stored);
  return ingestHomeLease(deps, event, loaded, options);
}

/** Noted as the event comes in: committed before any list or watch showed it, so never early. */
function sawRenewal(sightings: FirstSightings, { cluster, key, observed }: LeaseEvent, now: Millis): void {
  const holder = observed.holderIdentity ?? '';
  if (holder !== '' && observed.renewTime !== undefined)
    sightings.saw(key, { cluster, holder, renewTime: observed.renewTime }, now);
}

/**
 * The Lease parsed, with the lease it belongs to; undefined when it is not a Lease we can read. The
 * apiserver has validated it already, so what we refuse is ours (a term annotation that is no term):
 * said with the field, as nothing else would show why the Lease's renewals go unrecorded.
 */
function parseLeaseEvent(deps: IngestDeps, cluster: string, raw: RawObject): LeaseEvent | undefined {
  let lease: ReturnType<typeof parseLease>;
  try {
    lease = parseLease(raw);
  } catch (error) {
    if (!(error instanceof CoordinatorError)) throw error;
    deps.logger.warn('ignoring an invalid Lease', { cluster, object: raw.metadata, reason: error.message });
    return undefined;
  }
  return {
    cluster,
    key: deps.leases(cluster, lease.namespace, lease.name),
    observed: lease.record,
    view: viewOf(raw as Parameters<typeof viewOf>[0]),
  };
}

/** A copy of the Lease in a cluster of the group that is not the holder's: drift, or a new holder. */
async function ingestOtherClusterCopy(
  deps: IngestDeps,
  event: LeaseEvent,
  stored: StoredLease,
): Promise<LeaseIngested> {
  const { cluster, key, observed, view } = event;
  if (takenByAnother(observed, view, stored)) return recordNewHolder(deps, event, stored);
  const options = await optionsFor(deps, cluster, key, stored.record, false, view);
  return { outcome: planMirror(stored.record, false, view, options).write ? 'drift' : 'unchanged', key };
}

/** The Lease in the holder's own cluster: judged (judgeHomeLease), then recorded if it is news. */
async function ingestHomeLease(
  deps: IngestDeps,
  event: LeaseEvent,
  loaded: LeaseState,
  options: IngestLeaseOptions,
): Promise<LeaseIngested> {
  const { cluster, key, view } = event;
  const { hints } = options;
  const stored = loaded.lease;
  const now = deps.clock();
  const verdict = judgeHomeLease(event, stored, now);
  if (verdict === 'record' && options.takeOverRelease !== undefined && releases(event, stored)) {
    const taken = await takeOverFirst(deps, event, { loaded, stored, now }, options);
    if (taken !== undefined) return taken;
  }
  if (verdict === 'record') return recordHomeLease(deps, event, loaded, hints, now);
  if (verdict !== 'same-renewal') return { outcome: verdict, key };
  // Nothing new about the holder; but what it or a legacy renewer strips (strategy,
  // preferredHolder, the term) must be put back.
  // Where the record holds this very renewal of the holder's, later ones are kept within the bound
  // of it, as after ingest's own write (a run that lost the write to another keeps in step with it).
  rememberHolder(hints, event, stored, stored?.observedRenewTime === event.observed.renewTime);
  const repair = stored !== undefined && (await needsRepair(deps, cluster, key, stored.record, view));
  return { outcome: repair ? 'drift' : 'unchanged', key };
}

/** The recorded holder left its own Lease empty, under the term on record: a release ingest would record. */
function releases(event: LeaseEvent, stored: StoredLease | undefined): stored is StoredLease {
  return (
    stored !== undefined &&
    (event.observed.holderIdentity ?? '') === '' &&
    (stored.record.holderIdentity ?? '') !== '' &&
    !termAhead(event.view, stored)
  );
}

/**
 * A release offered to be taken over in the same write (the in-tree controller names the successor
 * on the release event itself): the lease as the release would leave it, at the version read, so
 * the decision's compare-and-set is the one the release's write would have had. Undefined when
 * ingest is to record the release itself; after a `lost` one from a fresh read, as the step may
 * have written meanwhile, and without offering it again.
 */
async function takeOverFirst(
  deps: IngestDeps,
  event: LeaseEvent,
  { loaded, stored, now }: { loaded: LeaseState; stored: StoredLease; now: Millis },
  { hints, takeOverRelease }: IngestLeaseOptions,
): Promise<LeaseIngested | undefined> {
  const { key, observed } = event;
  const seen = {
    leaseDurationSeconds: observed.leaseDurationSeconds ?? 0,
    renewTime: observed.renewTime ?? 0,
    ...(askedToYield(event) && { yielding: true }),
  };
  const { lease: released, candidates } = releasedState(loaded, stored, seen, now);
  const unrecorded: LeaseState = { candidates, lease: { ...released, version: stored.version } };
  const taken = (await takeOverRelease?.(key, unrecorded)) ?? 'declined';
  if (taken === 'declined') return undefined;
  if (taken === 'taken') {
    hints?.forget(key);
    return { outcome: 'takeover', key };
  }
  return ingestHomeLease(deps, event, await deps.store.loadLease(key), hints === undefined ? {} : { hints });
}

async function recordHomeLease(
  deps: IngestDeps,
  event: LeaseEvent,
  loaded: LeaseState,
  hints: HolderHints | undefined,
  now: Millis,
): Promise<LeaseIngested> {
  const { cluster, key, observed, view } = event;
  const stored = loaded.lease;
  const holder = recordedHolder(event, stored);
  const seen: LeaseObservation = {
    cluster,
    holderIdentity: holder,
    leaseDurationSeconds: observed.leaseDurationSeconds ?? 0,
    renewTime: observed.renewTime ?? 0,
    ...(view.term !== undefined && { shownTerm: view.term }),
    ...(holder === '' && askedToYield(event) && { yielding: true }),
  };
  const changed = await deps.store
    .observeLease(key, seen, stored, now)
    .then(() => true, onConditionFailed(false));
  if (!changed) return { outcome: 'unchanged', key };
  if (holder !== (stored?.record.holderIdentity ?? '')) {
    hints?.forget(key);
    if (holder !== '') return { outcome: 'observed', key };
    // The recorded holder let go, and observeLease recorded a release (a compare-and-set on the
    // version read): the fast path decides on that state as it is, without reading it back.
    return stored === undefined || termAhead(view, stored)
      ? { outcome: 'release', key }
      : { outcome: 'release', key, released: releasedState(loaded, stored, seen, now) };
  }
  rememberHolder(hints, event, stored);
  return {
    outcome: 'renewal',
    key,
    repair: stored !== undefined && (await needsRepair(deps, cluster, key, stored.record, view)),
  };
}

/**
 * The lease as observeLease records a release of `stored`'s holder (RECORD_OBSERVED_RELEASE): no
 * holder, liveness and the release dated now on our clock, one version on, any deferral ended.
 */
function releasedState(
  loaded: LeaseState,
  stored: StoredLease,
  seen: Pick<LeaseObservation, 'leaseDurationSeconds' | 'renewTime' | 'yielding'>,
  now: Millis,
): LeaseState & { readonly lease: StoredLease } {
  const { releasedYielding: _before, ...record } = stored.record;
  const lease: StoredLease = {
    record: {
      ...record,
      holderIdentity: '',
      leaseDurationSeconds: seen.leaseDurationSeconds,
      renewTime: now,
      releasedHolder: stored.record.holderIdentity ?? '',
      releasedAt: now,
      ...(seen.yielding === true && { releasedYielding: true }),
    },
    version: stored.version + 1,
    observedRenewTime: seen.renewTime,
  };
  return { ...loaded, lease };
}

/** Another elector holds the Lease: recorded as the holding (recordTakenLease), never repaired as drift. */
async function recordNewHolder(
  deps: IngestDeps,
  event: LeaseEvent,
  stored: StoredLease,
): Promise<LeaseIngested> {
  const { cluster, key, observed } = event;
  const changed = await recordTakenLease(deps, key, cluster, observed, stored, deps.clock());
  return { outcome: changed ? 'observed' : 'unchanged', key };
}
