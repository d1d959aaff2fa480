import { TERM_ANNOTATION } from '../api/lease.js';
import { formatMicroTime } from '../api/time.js';
import type { LeaseRecord } from '../election/types.js';

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
}

export type MirrorPlan =
  | { readonly write: false; readonly reason: 'in-sync' | 'newer-term' }
  | { readonly write: true; readonly spec: Record<string, unknown>; readonly term: number };

/**
 * The Lease spec one cluster should show for a decision. Pure.
 *
 * - Never writes a lower term over a higher one (DESIGN.md rule 4).
 * - In the holder's own cluster the holder renews its Lease itself, as client-go does: while it is
 *   the holder there, we only restore what it strips (strategy, preferredHolder) and the term.
 * - Everywhere else (and when the holder changes) the decision is written whole, renewTime
 *   included, which keeps the other clusters' Leases live so a legacy elector finds nothing expired.
 */
export function planMirror(
  record: LeaseRecord,
  homeCluster: boolean,
  current: ClusterLeaseView | undefined,
): MirrorPlan {
  if (current?.term !== undefined && current.term > record.term)
    return { write: false, reason: 'newer-term' };
  const holderHere =
    current !== undefined && (current.holderIdentity ?? '') === (record.holderIdentity ?? '');
  const spec: Record<string, unknown> = {};
  if (homeCluster && holderHere && current !== undefined) {
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
  const inSync =
    current !== undefined &&
    current.term === record.term &&
    (
      [
        'holderIdentity',
        'leaseDurationSeconds',
        'renewTime',
        'acquireTime',
        'leaseTransitions',
        'strategy',
        'preferredHolder',
      ] as const
    ).every((field) => spec[field] === current[field]);
  return inSync ? { write: false, reason: 'in-sync' } : { write: true, spec, term: record.term };
}

function copy(spec: Record<string, unknown>, field: string, value: unknown): void {
  if (value !== undefined) spec[field] = value;
}

/** Reads the fields planMirror compares from a raw Lease object. */
export function viewOf(lease: {
  metadata?: { annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}): ClusterLeaseView {
  const spec = lease.spec ?? {};
  const term = lease.metadata?.annotations?.[TERM_ANNOTATION];
  const view: Record<string, unknown> = {};
  for (const field of [
    'holderIdentity',
    'renewTime',
    'acquireTime',
    'strategy',
    'preferredHolder',
  ] as const) {
    if (typeof spec[field] === 'string' && spec[field] !== '') view[field] = spec[field];
  }
  if (spec.holderIdentity === '') view.holderIdentity = '';
  for (const field of ['leaseDurationSeconds', 'leaseTransitions'] as const) {
    if (typeof spec[field] === 'number') view[field] = spec[field];
  }
  if (term !== undefined && /^\d+$/.test(term)) view.term = Number(term);
  return view as ClusterLeaseView;
}
