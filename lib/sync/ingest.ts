import { parseLease, REVOKED_HOLDER } from '../api/lease.js';
import { parseLeaseCandidate } from '../api/leasecandidate.js';
import { holderOf, isLeaseExpired } from '../election/liveness.js';
import type { LeaseRecord } from '../election/types.js';
import { CoordinatorError, StaleHeartbeatError } from '../errors.js';
import type { RawObject, WatchPhase } from '../ports/cluster.js';
import type { IngestDeps } from '../ports/coordinator.js';
import { clustersOf, type LeaseKey } from '../ports/lease-key.js';
import type { StoredLease } from '../ports/store.js';
import { type ClusterLeaseView, type MirrorOptions, planMirror, viewOf } from './desired-lease.js';
import type { HolderHints } from './holder-hints.js';
import { mirrorOptions } from './mirror.js';

export type CandidateOutcome = 'stored' | 'unchanged' | 'removed' | 'invalid' | 'not-renewed';
export type LeaseOutcome = 'renewal' | 'release' | 'observed' | 'drift' | 'unchanged' | 'ignored';

/** Carries one LeaseCandidate event from a cluster into the table (a conditional write). */
export async function ingestCandidate(
  deps: IngestDeps,
  cluster: string,
  phase: WatchPhase,
  raw: RawObject,
): Promise<{ outcome: CandidateOutcome; key?: LeaseKey }> {
  let candidate: ReturnType<typeof parseLeaseCandidate>;
  try {
    candidate = parseLeaseCandidate(raw);
  } catch (error) {
    if (!(error instanceof CoordinatorError)) throw error;
    deps.logger.warn('ignoring an invalid LeaseCandidate', {
      cluster,
      object: raw.metadata,
      reason: error.message,
    });
    return { outcome: 'invalid' };
  }
  const key = deps.leases(cluster, candidate.namespace, candidate.leaseName);
  if (phase === 'DELETED') {
    await deps.store.removeCandidate(
      key,
      cluster,
      candidate.name,
      candidate.renewTime ?? Number.MAX_SAFE_INTEGER,
    );
    return { outcome: 'removed', key };
  }
  // Upstream treats a candidate without renewTime as expired; so do we.
  if (candidate.renewTime === undefined) return { outcome: 'not-renewed', key };
  try {
    await deps.store.putHeartbeat(
      key,
      cluster,
      { ...candidate, renewTime: candidate.renewTime },
      deps.clock(),
    );
    return { outcome: 'stored', key };
  } catch (error) {
    // Watch replays and relists hand us what we already stored: nothing to do.
    if (error instanceof StaleHeartbeatError) return { outcome: 'unchanged', key };
    throw error;
  }
}

export interface IngestLeaseOptions {
  /** The runner's memory of holders, for renewals written without a read. */
  readonly hints?: HolderHints;
}

export interface LeaseIngested {
  readonly outcome: LeaseOutcome;
  readonly key?: LeaseKey;
  /**
   * The holder's own cluster lacks part of the decision (a renew or a legacy renewer stripped
   * strategy or preferredHolder, or the term): the mirror must put it back.
   */
  readonly repair?: boolean;
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
  { hints }: IngestLeaseOptions = {},
): Promise<LeaseIngested> {
  let lease: ReturnType<typeof parseLease>;
  try {
    lease = parseLease(raw);
  } catch (error) {
    if (!(error instanceof CoordinatorError)) throw error;
    return { outcome: 'ignored' };
  }
  const key = deps.leases(cluster, lease.namespace, lease.name);
  const observed = lease.record;
  // What planMirror compares, our term annotation included: read once for every check below.
  const view = viewOf(raw as Parameters<typeof viewOf>[0]);
  if (hints !== undefined) {
    const renewed = await renewByHint(deps, cluster, key, observed, view, hints);
    if (renewed !== undefined) return renewed;
  }
  const { lease: stored, candidates } = await deps.store.loadLease(key);
  // Leases nobody competes for through us (plain client-go elections) are not ours. Node heartbeats
  // and apiserver identity leases are not even listed (NEVER_COORDINATED in lib/kube/cluster.ts).
  if (stored === undefined && candidates.length === 0) return { outcome: 'ignored', key };
  const home = (stored?.record.holderCluster ?? clustersOf(key)[0]) === cluster;
  if (!home && stored !== undefined) {
    if (takenByAnother(observed, view, stored)) return recordNewHolder(deps, cluster, key, observed, stored);
    const plan = planMirror(
      stored.record,
      false,
      view,
      await optionsFor(deps, cluster, key, stored.record, false),
    );
    return { outcome: plan.write ? 'drift' : 'unchanged', key };
  }
  // Our own revoke of the holder (preemption by revoke): not news of a holder, and not a release.
  if (observed.holderIdentity === REVOKED_HOLDER) return { outcome: 'unchanged', key };
  if (observed.renewTime === undefined || observed.leaseDurationSeconds === undefined)
    return { outcome: 'ignored', key };
  // The Lease as it was under an older term of ours: the watch delivering a state from before our
  // newer decision was written over it (or the mirror not done yet). It says nothing about the
  // current holder; read as news, its empty holder would record the new holder as released, and
  // the mirror would then write that over the new holder (the bench's preemption traces showed it).
  // A Lease without our annotation is not older, only not ours yet.
  const shownTerm = view.term;
  if (stored !== undefined && shownTerm !== undefined && shownTerm < stored.record.term)
    return { outcome: 'drift', key };
  // A term of ours above the record's is not our earlier decision (we never write a term we have
  // not recorded): the table lost it (recreated, restored from a backup), and the Lease is news.
  const termAhead = stored !== undefined && shownTerm !== undefined && shownTerm > stored.record.term;
  const holder = observed.holderIdentity ?? '';
  const recorded = stored?.record.holderIdentity ?? '';
  const remember = () => {
    if (holder !== '' && stored?.record.holderCluster === cluster && holder === recorded)
      hints?.set(key, { holder, cluster, observedRenewTime: observed.renewTime ?? 0 });
    else hints?.forget(key);
  };
  if (
    stored !== undefined &&
    !termAhead &&
    holder === recorded &&
    observed.renewTime === stored.record.renewTime
  ) {
    // Nothing new about the holder; but what it or a legacy renewer strips (strategy,
    // preferredHolder, the term) must be put back.
    remember();
    return {
      outcome: (await needsRepair(deps, cluster, key, stored.record, view)) ? 'drift' : 'unchanged',
      key,
    };
  }
  // A home Lease that names someone else under our current term (or none), stamped with a renewTime
  // neither we nor the holder wrote, was taken by another elector (takenByAnother): it is live now,
  // and writing the recorded holder back over it would give the lease two leaders until its renew
  // deadline, so it is recorded like any new holding below. Only another holder written over a
  // stamp of ours is a hand edit to repair while the recorded holder is live.
  const now = deps.clock();
  const liveHolder =
    stored !== undefined && holderOf(stored.record) !== undefined && !isLeaseExpired(stored.record, now);
  if (
    liveHolder &&
    !termAhead &&
    holder !== '' &&
    holder !== recorded &&
    !takenByAnother(observed, view, stored)
  )
    return { outcome: 'drift', key };
  const changed = await deps.store.observeLease(
    key,
    {
      cluster,
      holderIdentity: holder,
      leaseDurationSeconds: observed.leaseDurationSeconds,
      renewTime: observed.renewTime,
      ...(shownTerm !== undefined && { shownTerm }),
    },
    stored,
    now,
  );
  if (!changed) return { outcome: 'unchanged', key };
  if (holder !== recorded) {
    hints?.forget(key);
    return { outcome: holder === '' ? 'release' : 'observed', key };
  }
  remember();
  return {
    outcome: 'renewal',
    key,
    repair: stored !== undefined && (await needsRepair(deps, cluster, key, stored.record, view)),
  };
}

/**
 * The common case: the holder ingest last saw renewed its Lease in its own cluster. One
 * conditional write records it; undefined sends the event down the general path (no hint, a
 * different holder or cluster, or a record that does not match the hint any more).
 */
async function renewByHint(
  deps: IngestDeps,
  cluster: string,
  key: LeaseKey,
  observed: ReturnType<typeof parseLease>['record'],
  view: ClusterLeaseView,
  hints: HolderHints,
): Promise<LeaseIngested | undefined> {
  const hint = hints.get(key);
  const holder = observed.holderIdentity ?? '';
  if (
    hint === undefined ||
    holder !== hint.holder ||
    cluster !== hint.cluster ||
    observed.renewTime === undefined ||
    observed.leaseDurationSeconds === undefined ||
    observed.renewTime <= hint.observedRenewTime
  )
    return undefined;
  const stored = await deps.store.renewObservedLease(
    key,
    {
      cluster,
      holderIdentity: holder,
      leaseDurationSeconds: observed.leaseDurationSeconds,
      renewTime: observed.renewTime,
    },
    holder,
    deps.clock(),
  );
  // Recorded, but under a lower term than the Lease shows (a table restored from a backup under
  // a running ingest): the general path lifts the record to it.
  if (stored === undefined || (view.term !== undefined && view.term > stored.record.term)) {
    hints.forget(key);
    return undefined;
  }
  hints.set(key, { holder, cluster, observedRenewTime: observed.renewTime });
  return { outcome: 'renewal', key, repair: await needsRepair(deps, cluster, key, stored.record, view) };
}

/**
 * Another elector holds the Lease: in a cluster of the group that is not the holder's, a legacy
 * elector that took the copy there once it looked expired (the recorded holder stopped renewing) or
 * empty; in the holder's own cluster, one that took it after a release. Our own writes name the
 * recorded holder, our revoke, or nobody; an older term of ours is a state from before the current
 * decision, which the mirror replaces.
 */
function takenByAnother(observed: LeaseRecord, view: ClusterLeaseView, stored: StoredLease): boolean {
  const { record } = stored;
  const holder = observed.holderIdentity ?? '';
  return (
    holder !== '' &&
    holder !== REVOKED_HOLDER &&
    holder !== (record.holderIdentity ?? '') &&
    (view.term === undefined || view.term >= record.term) &&
    observed.renewTime !== undefined &&
    observed.leaseDurationSeconds !== undefined &&
    // An elector that takes a Lease stamps renewTime with its own clock; a Lease that still shows
    // the stamp we (or the recorded holder) wrote was only edited, by hand or by a tool: drift.
    observed.renewTime !== record.renewTime &&
    observed.renewTime !== stored.observedRenewTime
  );
}

/**
 * Records that holding, under a new term, with this cluster as the holder's: the mirror then copies
 * it into the group's other clusters, where a restarted coordinated elector finds the Lease held by
 * someone else instead of naming it still, and a better candidate is preferred by the usual rules.
 */
async function recordNewHolder(
  deps: IngestDeps,
  cluster: string,
  key: LeaseKey,
  observed: LeaseRecord,
  stored: StoredLease,
): Promise<LeaseIngested> {
  deps.logger.warn('another elector took the Lease in a cluster of the group; it is the holder now', {
    lease: key,
    cluster,
    holder: observed.holderIdentity,
    recorded: stored.record.holderIdentity,
  });
  const changed = await deps.store.observeLease(
    key,
    {
      cluster,
      holderIdentity: observed.holderIdentity ?? '',
      leaseDurationSeconds: observed.leaseDurationSeconds ?? 0,
      renewTime: observed.renewTime ?? 0,
    },
    stored,
    deps.clock(),
  );
  return { outcome: changed ? 'observed' : 'unchanged', key };
}

/** The holder's own cluster lacks part of the decision that it keeps (or a revoke is due there). */
async function needsRepair(
  deps: IngestDeps,
  cluster: string,
  key: LeaseKey,
  record: LeaseRecord,
  view: ClusterLeaseView,
): Promise<boolean> {
  return planMirror(record, true, view, await optionsFor(deps, cluster, key, record, true)).write;
}

async function optionsFor(
  deps: IngestDeps,
  cluster: string,
  key: LeaseKey,
  record: LeaseRecord,
  home: boolean,
): Promise<MirrorOptions> {
  return mirrorOptions(deps, await deps.clusters.get(cluster), key, record, home);
}
