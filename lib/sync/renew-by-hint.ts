import type { LeaseRecord, Millis } from '../election/types.js';
import { onConditionFailed } from '../errors.js';
import type { IngestDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { StoredLease } from '../ports/store.js';
import { type ClusterLeaseView, type MirrorOptions, planMirror } from './desired-lease.js';
import type { HolderHints } from './holder-hints.js';
import { type LeaseEvent, termAhead } from './lease-rules.js';
import { mirrorOptions } from './mirror-options.js';

/** A holder's renewal through ingest's memory of it (HolderHints): recorded, or kept within the bound. */
export interface HintedRenewal {
  readonly outcome: 'renewal' | 'kept';
  readonly key: LeaseKey;
  /** The holder's own cluster lacks part of the decision (see LeaseIngested.repair in ingest.ts). */
  readonly repair: boolean;
}

/**
 * The common case: the holder ingest last saw renewed its Lease in its own cluster. Within the
 * bound of the deadline ingest last recorded for it, nothing is written (keptRenewal); otherwise
 * one conditional write records it. Undefined sends the event down the general path (no hint, a
 * different holder or cluster, or a record that does not match the hint any more).
 */
export async function renewByHint(
  deps: IngestDeps,
  event: LeaseEvent,
  hints: HolderHints,
  renewalBoundMs: (leaseDurationSeconds: number, key: LeaseKey) => Millis,
): Promise<HintedRenewal | undefined> {
  const { cluster, key, observed, view } = event;
  const hint = hints.get(key);
  const holder = observed.holderIdentity ?? '';
  if (
    hint === undefined ||
    holder !== hint.holder ||
    cluster !== hint.cluster ||
    observed.renewTime === undefined ||
    observed.leaseDurationSeconds === undefined ||
    observed.renewTime <= hint.observedRenewTime ||
    // Our own write (a put-back, a copy) is no renewal of the holder's: the general path judges it.
    view.renewTimeOurs === true
  )
    return undefined;
  const now = deps.clock();
  const seen = {
    cluster,
    holderIdentity: holder,
    leaseDurationSeconds: observed.leaseDurationSeconds,
    renewTime: observed.renewTime,
  };
  const bound =
    deps.holderClusterUnreachable?.(key) === 'TakeOver' ? 0 : renewalBoundMs(seen.leaseDurationSeconds, key);
  if (hint.recorded !== undefined && keptRenewal(hint.recorded, event, now, bound)) {
    hints.set(key, { ...hint, observedRenewTime: seen.renewTime });
    return {
      outcome: 'kept',
      key,
      repair: await needsRepair(deps, cluster, key, hint.recorded.record, view),
    };
  }
  const stored = await deps.store
    .renewObservedLease(key, seen, holder, now)
    .catch(onConditionFailed(undefined));
  // Recorded, but under a lower term than the Lease shows (a table restored from a backup under
  // a running ingest): the general path lifts the record to it.
  if (stored === undefined || termAhead(view, stored)) {
    hints.forget(key);
    return undefined;
  }
  hints.set(key, { holder, cluster, observedRenewTime: seen.renewTime, recorded: stored });
  return { outcome: 'renewal', key, repair: await needsRepair(deps, cluster, key, stored.record, view) };
}

/**
 * A renewal that need not be recorded: the deadline it would record (now plus the lease duration)
 * is within `boundMs` of the one ingest's last write recorded, for the same duration and term, and
 * no takeover is held off on that record (a renewal's record ends the hold-off). A lagging record
 * is safe because no takeover goes by it alone: it confirms with the holder's cluster first
 * (docs/design.md, "Renewals kept by ingest"); under `TakeOver` the bound is 0.
 */
function keptRenewal(
  recorded: StoredLease,
  { observed, view }: LeaseEvent,
  now: Millis,
  boundMs: Millis,
): boolean {
  const { record } = recorded;
  return (
    boundMs > 0 &&
    record.renewTime !== undefined &&
    now >= record.renewTime &&
    now - record.renewTime <= boundMs &&
    observed.leaseDurationSeconds === record.leaseDurationSeconds &&
    !termAhead(view, recorded) &&
    recorded.takeoverNotBefore === undefined &&
    recorded.holderClusterOut !== true
  );
}

/** The holder's own cluster lacks part of the decision that it keeps (or a revoke is due there). */
export async function needsRepair(
  deps: IngestDeps,
  cluster: string,
  key: LeaseKey,
  record: LeaseRecord,
  view: ClusterLeaseView,
): Promise<boolean> {
  return planMirror(record, true, view, await optionsFor(deps, cluster, key, record, true, view)).write;
}

export async function optionsFor(
  deps: IngestDeps,
  cluster: string,
  key: LeaseKey,
  record: LeaseRecord,
  home: boolean,
  view: ClusterLeaseView | undefined,
): Promise<MirrorOptions> {
  return mirrorOptions(deps, await deps.clusters.get(cluster), key, record, home, view);
}
