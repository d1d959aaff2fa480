import { describe, expect, it } from 'vitest';
import { REVOKED_HOLDER } from '../../lib/api/lease.js';
import { formatMicroTime } from '../../lib/api/time.js';
import type { LeaseRecord } from '../../lib/election/types.js';
import type { StoredLease } from '../../lib/ports/store.js';
import type { ClusterLeaseView } from '../../lib/sync/desired-lease.js';
import { observedOf, takenByAnother } from '../../lib/sync/lease-rules.js';

const NOW = Date.UTC(2026, 11, 4, 3, 0, 0);

/** The decision naming "x" under term 3, taken 1 s ago; the holder's last renewal seen at `observedRenewTime`. */
function decision(overrides: Partial<LeaseRecord> = {}, observedRenewTime?: number): StoredLease {
  return {
    record: {
      term: 3,
      holderIdentity: 'x',
      holderCluster: 'a',
      leaseDurationSeconds: 15,
      renewTime: NOW - 1_000,
      ...overrides,
    },
    version: 4,
    ...(observedRenewTime !== undefined && { observedRenewTime }),
  };
}

/** A Lease "legacy" holds, stamped `ageMs` ago on its own clock, with no term of ours unless given. */
function legacyLease(ageMs: number, term?: number): ClusterLeaseView {
  return {
    holderIdentity: 'legacy',
    leaseDurationSeconds: 15,
    renewTime: formatMicroTime(NOW - ageMs),
    ...(term !== undefined && { term }),
  };
}

/** What the mirror asks of a Lease it read where it was to write (planCluster). */
const heldByAnother = (view: ClusterLeaseView, stored: StoredLease) =>
  takenByAnother(observedOf(view), view, stored);

describe('takenByAnother: a Lease the mirror never writes over (unit)', () => {
  it('another elector holding it, live on its own renewTime, without our annotation or under our current term', () => {
    expect(heldByAnother(legacyLease(0), decision())).toBe(true);
    expect(heldByAnother(legacyLease(14_000), decision())).toBe(true);
    // A client-go Update keeps the annotations of the Lease it took.
    expect(heldByAnother(legacyLease(0, 3), decision())).toBe(true);
  });

  it('even once its renewTime plus leaseDurationSeconds has passed on our clock: a stamp says when the write began', () => {
    // A slow write, or a clock behind ours, makes a live elector's stamp look expired; it is recorded as seen now.
    expect(heldByAnother(legacyLease(15_001), decision())).toBe(true);
    expect(heldByAnother(legacyLease(3_600_000), decision())).toBe(true);
  });

  it('not the recorded holder, nobody, nor our revoke', () => {
    expect(heldByAnother({ ...legacyLease(0), holderIdentity: 'x' }, decision())).toBe(false);
    expect(heldByAnother({ ...legacyLease(0), holderIdentity: '' }, decision())).toBe(false);
    expect(heldByAnother({ ...legacyLease(0), holderIdentity: REVOKED_HOLDER }, decision())).toBe(false);
  });

  it('not a state from before the current decision: an older term of ours', () => {
    expect(heldByAnother(legacyLease(0, 2), decision())).toBe(false);
  });

  it('not a hand edit that kept a stamp we or the recorded holder wrote (drift, repaired)', () => {
    const ours = decision();
    const edited = { ...legacyLease(0), renewTime: formatMicroTime(ours.record.renewTime ?? 0) };
    expect(heldByAnother(edited, ours)).toBe(false);
    const holders = decision({}, NOW - 500);
    expect(heldByAnother({ ...legacyLease(0), renewTime: formatMicroTime(NOW - 500) }, holders)).toBe(false);
  });

  it("not our copy of a holding its holder has just released, in a group's other cluster the release has not reached yet", () => {
    // x released in its own cluster "a": the record names nobody, and x as the releasing holder.
    const released = decision(
      { holderIdentity: '', releasedHolder: 'x', releasedAt: NOW - 100, renewTime: NOW - 100 },
      NOW - 100,
    );
    // Cluster "b" still shows our copy of x's last renewal we copied (our stamp: whole milliseconds).
    const copy: ClusterLeaseView = {
      holderIdentity: 'x',
      leaseDurationSeconds: 15,
      renewTime: formatMicroTime(NOW - 3_000),
      term: 3,
    };
    expect(heldByAnother(copy, released)).toBe(false);
    // x's own stamp (microseconds): x took the Lease again, as a legacy elector would; never written over.
    expect(heldByAnother({ ...copy, renewTime: '2026-12-04T02:59:59.000123Z' }, released)).toBe(true);
  });

  it('not a Lease without a renewTime or a duration to judge it by', () => {
    const { renewTime: _r, ...unstamped } = legacyLease(0);
    expect(heldByAnother(unstamped, decision())).toBe(false);
    const { leaseDurationSeconds: _d, ...endless } = legacyLease(0);
    expect(heldByAnother(endless, decision())).toBe(false);
  });

  it('a stamp with microseconds is none of ours, even in the same millisecond as the decision', () => {
    const ours = decision();
    const sameMs = formatMicroTime(ours.record.renewTime ?? 0);
    expect(heldByAnother({ ...legacyLease(0), renewTime: sameMs.replace(/000Z$/, '417Z') }, ours)).toBe(true);
    expect(heldByAnother({ ...legacyLease(0), renewTime: sameMs }, ours)).toBe(false);
  });
});
