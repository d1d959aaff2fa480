import {
  FENCED_HOLDER,
  holderShown,
  PREFERRED_HOLDER_ANNOTATION,
  parseTermAnnotation,
  REVOKED_HOLDER,
  TERM_ANNOTATION,
} from '../api/lease.js';
import { renewTimeWrittenByUs } from '../api/managed-fields.js';
import { formatMicroTime } from '../api/time.js';
import { holderOf } from '../election/liveness.js';
import { holderLeaseSeconds } from '../election/timing.js';
import { LEASE_SPEC_FIELDS, type LeaseRecord, type Millis } from '../election/types.js';
import type { JsonPatchOperation } from '../ports/cluster.js';
import { ALL_KEPT, type KeptFields } from './lease-fields.js';

/** What one cluster's Lease shows, read from its spec (times as strings, as the apiserver sent them). */
export interface ClusterLeaseView {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  readonly renewTime?: string;
  readonly acquireTime?: string;
  readonly leaseTransitions?: number;
  readonly strategy?: string;
  readonly preferredHolder?: string;
  readonly term?: number;
  /** The lease-coordinator.dev/preferred-holder annotation. */
  readonly preferredHolderAnnotation?: string;
  /** The Lease names our takeover's fence (FENCED_HOLDER), shown above as no holder. */
  readonly fenced?: boolean;
  /** Our write last changed renewTime (true) or another's did (false), as managedFields show. */
  readonly renewTimeOurs?: boolean;
}

/** What planMirror must know of the cluster and the lease besides the decision. */
export interface MirrorOptions {
  /** The coordination fields this cluster keeps (lease-fields.ts); the others are not compared. */
  readonly kept?: KeptFields;
  /**
   * Preemption by revoke (docs/clusters.md): in the holder's own cluster, take the holder off the
   * Lease while it is asked to yield, stamping the Lease with this time on our clock (no earlier than
   * the holder's last renewal was committed: revokeStamp in mirror-options.ts).
   */
  readonly revokeAt?: Millis;
}

export type MirrorPlan =
  | {
      readonly write: false;
      /** held-by-another: another elector's live holder, never written over (planCluster, takenByAnother). */
      readonly reason: 'in-sync' | 'newer-term' | 'released' | 'held-by-another';
    }
  | {
      readonly write: true;
      readonly spec: Record<string, unknown>;
      readonly term: number;
      /** The preferred-holder annotation to write; undefined removes it. */
      readonly preferredHolder: string | undefined;
      /**
       * The holder is live in its own cluster and keeps its fields: the write only sets what the
       * coordinator owns (strategy, preferredHolder, the term), so it may go as a patch that
       * does not race the holder's renewals (see coordinationPatch).
       */
      readonly holderKeeps: boolean;
    };

/**
 * The Lease spec one cluster should show for a decision. Pure.
 *
 * - Never writes a lower term over a higher one (docs/design.md, rule 4).
 * - Never undoes the holder's own release in its cluster (see heldAndReleased).
 * - In the holder's own cluster (its home: holderHome) the holder renews its Lease itself, as client-go
 *   does: while it is the holder there, we only restore what it strips (strategy, preferredHolder) and
 *   the term.
 * - Everywhere else (and when the holder changes) the decision is written whole, renewTime
 *   included, which keeps the other clusters' Leases live so a legacy elector finds nothing expired.
 */
export function planMirror(
  record: LeaseRecord,
  homeCluster: boolean,
  current: ClusterLeaseView | undefined,
  { kept = ALL_KEPT, revokeAt }: MirrorOptions = {},
): MirrorPlan {
  if (current?.term !== undefined && current.term > record.term)
    return { write: false, reason: 'newer-term' };
  if (homeCluster && heldAndReleased(record, current)) return { write: false, reason: 'released' };
  if (homeCluster && revokeAt !== undefined && holderOf(record) !== undefined)
    return planRevoke(record, current, kept, revokeAt);
  const holderHere =
    current !== undefined && (current.holderIdentity ?? '') === (record.holderIdentity ?? '');
  const spec: Record<string, unknown> = {};
  const holderKeeps = homeCluster && holderHere && current !== undefined;
  if (holderKeeps) {
    // Keep the holder's own fields exactly as it wrote them.
    copy(spec, 'holderIdentity', current.holderIdentity);
    copy(spec, 'leaseDurationSeconds', current.leaseDurationSeconds);
    copy(spec, 'renewTime', current.renewTime);
    copy(spec, 'acquireTime', current.acquireTime);
    copy(spec, 'leaseTransitions', current.leaseTransitions);
  } else {
    copy(spec, 'holderIdentity', record.holderIdentity);
    // Client-go treats a Lease without a positive duration as expired at once: never leave it out.
    copy(spec, 'leaseDurationSeconds', record.leaseDurationSeconds ?? 5);
    copy(spec, 'renewTime', record.renewTime === undefined ? undefined : formatMicroTime(record.renewTime));
    copy(
      spec,
      'acquireTime',
      record.acquireTime === undefined ? undefined : formatMicroTime(record.acquireTime),
    );
    copy(spec, 'leaseTransitions', record.leaseTransitions ?? current?.leaseTransitions);
  }
  copy(spec, 'strategy', record.strategy);
  copy(spec, 'preferredHolder', record.preferredHolder);
  return decide(spec, record, current, kept, holderKeeps);
}

/** The cluster's Lease shows our revoke of the record's term (the holder taken off it). */
export function revokedInTerm(record: LeaseRecord, current: ClusterLeaseView | undefined): boolean {
  return current !== undefined && current.holderIdentity === REVOKED_HOLDER && current.term === record.term;
}

/**
 * The holder's Lease while it is revoked: REVOKED_HOLDER in place of the holder, so that a
 * coordinated client-go holder stops renewing (it renews only a Lease that names it) and nobody
 * else takes it. The stamp (no earlier than the holder's last renewal was committed, on our clock: revokeStamp in mirror-options.ts) is
 * kept once written: confirm-takeover counts one lease duration from it before the successor is named.
 */
function planRevoke(
  record: LeaseRecord,
  current: ClusterLeaseView | undefined,
  kept: KeptFields,
  revokeAt: Millis,
): MirrorPlan {
  const revokedHere = revokedInTerm(record, current);
  const stamp =
    revokedHere && current?.renewTime !== undefined ? current.renewTime : formatMicroTime(revokeAt);
  const spec: Record<string, unknown> = {
    holderIdentity: REVOKED_HOLDER,
    // The holder's own, which the revoke writes over: it is what a legacy elector there waits out,
    // and what confirm-takeover counts from the stamp before the successor is named.
    leaseDurationSeconds: holderLeaseSeconds(record.leaseDurationSeconds, current?.leaseDurationSeconds),
    acquireTime: revokedHere && current?.acquireTime !== undefined ? current.acquireTime : stamp,
    renewTime: stamp,
  };
  copy(spec, 'leaseTransitions', current?.leaseTransitions);
  copy(spec, 'strategy', record.strategy);
  copy(spec, 'preferredHolder', record.preferredHolder);
  return decide(spec, record, current, kept, false);
}

/** In sync when every field the cluster keeps shows what the spec says, the term and annotation too. */
function decide(
  spec: Record<string, unknown>,
  record: LeaseRecord,
  current: ClusterLeaseView | undefined,
  kept: KeptFields,
  holderKeeps: boolean,
): MirrorPlan {
  const inSync =
    current !== undefined &&
    current.term === record.term &&
    current.preferredHolderAnnotation === record.preferredHolder &&
    LEASE_SPEC_FIELDS.every(
      (field) =>
        ((field === 'strategy' || field === 'preferredHolder') && !kept[field]) ||
        spec[field] === current[field],
    );
  return inSync
    ? { write: false, reason: 'in-sync' }
    : { write: true, spec, term: record.term, preferredHolder: record.preferredHolder, holderKeeps };
}

/**
 * The holder let go of the Lease in its own cluster since this decision was written: the Lease
 * has our term and no holder. Only the holder clears it (client-go's release, on a preemption or
 * a clean stop; ingest records the release, and the next decision takes a new term), or a
 * takeover's fence, which reads as no holder (FENCED_HOLDER), just before that takeover writes the
 * decision naming the successor. A mirror pass that read the table just before either would write
 * the old holder back, naming a process that has stopped leading and holding up the takeover by
 * seconds (docs/reliability.md, "Findings behind the code"), unless the holder renewed after the
 * fence (renewedSinceFence).
 */
function heldAndReleased(record: LeaseRecord, current: ClusterLeaseView | undefined): boolean {
  return (
    current !== undefined &&
    current.term === record.term &&
    (current.holderIdentity ?? '') === '' &&
    (record.holderIdentity ?? '') !== '' &&
    !renewedSinceFence(record, current)
  );
}

/**
 * The record shows the holder renewing at or after the fence's stamp: a renewal recorded after the
 * takeover read the lease (one recorded before would have shown the holder live, and nothing would
 * have been fenced), so the takeover lost its write to it (lease-rules.ts reads the fence as our own
 * write, not a release), and the holder, which still holds, is put back on its Lease. Both times are
 * on our clock.
 */
function renewedSinceFence(record: LeaseRecord, current: ClusterLeaseView): boolean {
  const fencedAt = current.fenced === true ? Date.parse(current.renewTime ?? '') : Number.NaN;
  return !Number.isNaN(fencedAt) && (record.renewTime ?? 0) >= fencedAt;
}

function copy(spec: Record<string, unknown>, field: string, value: unknown): void {
  if (value !== undefined) spec[field] = value;
}

/** Reads the fields planMirror compares from a raw Lease object. */
export function viewOf(lease: {
  metadata?: { annotations?: Record<string, string>; managedFields?: unknown };
  spec?: Record<string, unknown>;
}): ClusterLeaseView {
  const spec = lease.spec ?? {};
  const view: Record<string, unknown> = {};
  // Times and names are strings, durations and counts numbers; an empty string is no value.
  for (const field of LEASE_SPEC_FIELDS) {
    const value = spec[field];
    if ((typeof value === 'string' && value !== '') || typeof value === 'number') view[field] = value;
  }
  // No holder is a value here: a release (or our fence, which reads as one) under our term.
  if (typeof spec.holderIdentity === 'string') view.holderIdentity = holderShown(spec.holderIdentity);
  if (spec.holderIdentity === FENCED_HOLDER) view.fenced = true;
  const term = parseTermAnnotation(lease.metadata?.annotations?.[TERM_ANNOTATION]);
  if (term !== undefined) view.term = term;
  const preferred = lease.metadata?.annotations?.[PREFERRED_HOLDER_ANNOTATION];
  if (preferred !== undefined && preferred !== '') view.preferredHolderAnnotation = preferred;
  const renewTimeOurs = renewTimeWrittenByUs(lease.metadata);
  if (renewTimeOurs !== undefined) view.renewTimeOurs = renewTimeOurs;
  return view as ClusterLeaseView;
}

/**
 * The patch for a plan that keeps a live holder's own fields: set strategy, preferredHolder and the
 * term, on the condition (`test`) that the same holder and term are still there. A holder renews
 * every retry period (500 ms–2 s); a read-then-replace loses that race whenever the coordinator is
 * slower than one renewal, and the preemption would wait for the next sweep. undefined when the
 * Lease has no holder to test for (nobody renews it then, so a replace is fine).
 */
export function coordinationPatch(
  current: { metadata?: { annotations?: Record<string, string> }; spec?: Record<string, unknown> },
  plan: { spec: Record<string, unknown>; term: number; preferredHolder?: string | undefined },
): JsonPatchOperation[] | undefined {
  const holder = current.spec?.holderIdentity;
  if (typeof holder !== 'string' || holder === '') return undefined;
  const ops: JsonPatchOperation[] = [{ op: 'test', path: '/spec/holderIdentity', value: holder }];
  const annotations = current.metadata?.annotations;
  const wanted = annotationsFor(plan);
  if (annotations === undefined) {
    ops.push({ op: 'add', path: '/metadata/annotations', value: wanted });
  } else {
    const read = annotations[TERM_ANNOTATION];
    if (read !== undefined) ops.push({ op: 'test', path: annotationPath(TERM_ANNOTATION), value: read });
    ops.push({ op: 'add', path: annotationPath(TERM_ANNOTATION), value: String(plan.term) });
    if (plan.preferredHolder !== undefined)
      ops.push({ op: 'add', path: annotationPath(PREFERRED_HOLDER_ANNOTATION), value: plan.preferredHolder });
    else if (annotations[PREFERRED_HOLDER_ANNOTATION] !== undefined)
      ops.push(
        ...guardedRemove(
          annotationPath(PREFERRED_HOLDER_ANNOTATION),
          annotations[PREFERRED_HOLDER_ANNOTATION],
        ),
      );
  }
  for (const field of ['strategy', 'preferredHolder'] as const) {
    if (plan.spec[field] !== undefined)
      ops.push({ op: 'add', path: `/spec/${field}`, value: plan.spec[field] });
    else if (current.spec?.[field] !== undefined)
      ops.push(...guardedRemove(`/spec/${field}`, current.spec[field]));
  }
  return ops;
}

/**
 * A remove of what was read, tested first: another pass that removed it meanwhile makes the patch
 * a failed `test` (a conflict: read again), where a bare remove of a missing path fails as a
 * malformed patch.
 */
function guardedRemove(path: string, read: unknown): JsonPatchOperation[] {
  return [
    { op: 'test', path, value: read },
    { op: 'remove', path },
  ];
}

/** The annotations a decision sets: its term and, while a holder is asked to yield, to whom. */
export function annotationsFor(plan: {
  term: number;
  preferredHolder?: string | undefined;
}): Record<string, string> {
  return {
    [TERM_ANNOTATION]: String(plan.term),
    ...(plan.preferredHolder !== undefined && { [PREFERRED_HOLDER_ANNOTATION]: plan.preferredHolder }),
  };
}

/** An annotation's JSON Pointer (RFC 6901: "~" and "/" escaped). */
function annotationPath(name: string): string {
  return `/metadata/annotations/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`;
}
