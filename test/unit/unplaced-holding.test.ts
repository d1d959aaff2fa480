import { describe, expect, it } from 'vitest';
import { REVOKED_HOLDER } from '../../lib/api/lease.js';
import { type SeenHolding, stampedByUs, unplacedHolding } from '../../lib/coordinator/foreign-holding.js';

/**
 * lib/coordinator/foreign-holding.ts: in a lease group, our copy of a decision the table lost names a
 * holder without saying which cluster it leads from; it is recorded as our placeholder's holding.
 */
describe('a Lease that does not place its holder (unit: pure)', () => {
  const copy: SeenHolding = { holderIdentity: 'new', renewTime: 1_000, leaseDurationSeconds: 15, term: 7 };
  const ours = { ...copy, renewTimeOurs: true };

  it.each([
    ['our copy under a term above the record’s, in a group', ours, 6, true, true],
    ['our copy with no record, in a group', ours, undefined, true, true],
    ['our copy in a single cluster: the holder’s own cluster', ours, 6, false, false],
    ['our copy under the term on record', ours, 7, true, false],
    ['our copy under a term below the record’s', ours, 8, true, false],
    ['a Lease the holder stamped itself', { ...copy, renewTimeOurs: false }, 6, true, false],
    ['a Lease without our term (a legacy elector’s)', { ...ours, term: undefined }, undefined, true, false],
    ['our revoke', { ...ours, holderIdentity: REVOKED_HOLDER }, 6, true, false],
    ['an empty Lease', { ...ours, holderIdentity: '' }, 6, true, false],
  ] as const)('%s', (_what, seen, recordTerm, group, unplaced) => {
    expect(unplacedHolding(seen, recordTerm, group)).toBe(unplaced);
  });

  it('takes a stamp for ours as managedFields say; without them, a whole-millisecond stamp', () => {
    expect(stampedByUs({ renewTimeOurs: true, subMillisecond: true })).toBe(true);
    expect(stampedByUs({ renewTimeOurs: false })).toBe(false);
    // No manager named: client-go stamps microseconds, we stamp whole milliseconds.
    expect(stampedByUs({ subMillisecond: true })).toBe(false);
    expect(stampedByUs({})).toBe(true);
  });
});
