import { parseLeaseCandidate } from '../api/leasecandidate.js';
import type { Millis } from '../election/types.js';
import { messageOrRethrow } from '../errors.js';
import type { CandidateSpec } from './options.js';

/** The agent's own LeaseCandidate as last seen in the cluster (a watch event or a write's answer). */
export type Observed =
  | { readonly kind: 'missing' }
  /** An object the coordinator could not read (hand-edited, or written by something else). */
  | { readonly kind: 'invalid'; readonly problem: string; readonly resourceVersion?: string }
  | {
      readonly kind: 'present';
      readonly leaseName: string;
      readonly binaryVersion: string;
      readonly emulationVersion: string;
      readonly strategy: string;
      readonly renewTime?: Millis;
      readonly pingTime?: Millis;
      readonly resourceVersion?: string;
    };

export type RenewReason = 'ping' | 'period' | 'spec';

/** What to do next. Anything but `wait` is a write that only a healthy program earns. */
export type Decision =
  | { readonly action: 'create' }
  /** Delete, then create: leaseName is immutable, and an unreadable object is better started afresh. */
  | { readonly action: 'replace'; readonly reason: 'lease-name' | 'invalid' }
  | { readonly action: 'renew'; readonly reason: RenewReason }
  | { readonly action: 'wait'; readonly until: Millis };

/**
 * Reads a LeaseCandidate of either API. The CRD's spec is v1beta1's field for field, so both go
 * through the coordinator's own v1beta1 validation.
 */
export function observe(raw: unknown): Observed {
  if (raw === undefined) return { kind: 'missing' };
  const resourceVersion = (raw as { metadata?: { resourceVersion?: unknown } }).metadata?.resourceVersion;
  const rv = typeof resourceVersion === 'string' ? { resourceVersion } : {};
  try {
    const c = parseLeaseCandidate({
      ...(raw as object),
      apiVersion: 'coordination.k8s.io/v1beta1',
      kind: 'LeaseCandidate',
    });
    return {
      kind: 'present',
      leaseName: c.leaseName,
      binaryVersion: c.binaryVersion,
      emulationVersion: c.emulationVersion,
      strategy: c.strategy,
      ...(c.renewTime !== undefined && { renewTime: c.renewTime }),
      ...(c.pingTime !== undefined && { pingTime: c.pingTime }),
      ...rv,
    };
  } catch (error) {
    return { kind: 'invalid', problem: messageOrRethrow(error), ...rv };
  }
}

function sameSpec(observed: Observed & { kind: 'present' }, desired: CandidateSpec): boolean {
  return (
    observed.binaryVersion === desired.binaryVersion &&
    observed.emulationVersion === desired.emulationVersion &&
    observed.strategy === desired.strategy
  );
}

/**
 * client-go's candidate, decided from the object and `now` alone: renew at once when the
 * coordinator pinged after the last renewal (pingTime > renewTime, both written to the same object,
 * so no clock is compared with another), otherwise once a period has passed since renewTime.
 * Unlike client-go it also corrects a spec that differs from the flags (a restart with a new
 * version must not keep competing with the old one).
 */
export function decide(observed: Observed, desired: CandidateSpec, now: Millis, periodMs: Millis): Decision {
  if (observed.kind === 'missing') return { action: 'create' };
  if (observed.kind === 'invalid') return { action: 'replace', reason: 'invalid' };
  if (observed.leaseName !== desired.leaseName) return { action: 'replace', reason: 'lease-name' };
  if (!sameSpec(observed, desired)) return { action: 'renew', reason: 'spec' };
  const renewed = observed.renewTime;
  if (observed.pingTime !== undefined && (renewed === undefined || observed.pingTime > renewed))
    return { action: 'renew', reason: 'ping' };
  // A renewTime ahead of our clock (written by another clock, or ours stepped back) would keep the
  // candidate live however long the program is dead: write our own time over it.
  if (renewed === undefined || renewed + periodMs <= now || renewed > now)
    return { action: 'renew', reason: 'period' };
  return { action: 'wait', until: renewed + periodMs };
}
