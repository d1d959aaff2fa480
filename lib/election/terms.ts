/**
 * The fencing term of a holding the coordinator saw in a cluster rather than decided (a legacy
 * elector took the Lease, its holder released it, or the Lease was there before our record).
 *
 * The term only grows (docs/design.md, rule 4), and that includes terms a Lease already shows: a table
 * recreated, restored from a backup, or a record lost otherwise leaves Leases carrying terms above
 * what the table knows. A decision under a lower term would never be mirrored over them (the
 * mirror refuses to lower a term), so the lease would stay stuck until enough elections had
 * passed, and then be overwritten while its holder was live.
 */
export interface SeenHolding {
  /** The holder the Lease names; "" when nobody holds it. */
  readonly holder: string;
  /** The term of ours that Lease carries (our annotation), if any. */
  readonly shownTerm?: number;
  /** The highest term any Lease of this lease shows (every cluster of a group). */
  readonly highestShownTerm?: number;
}

export function seenHoldingTerm(recordedTerm: number, seen: SeenHolding): number {
  const highest = Math.max(recordedTerm, seen.shownTerm ?? 0, seen.highestShownTerm ?? 0);
  if (seen.holder === '') return highest;
  // A holder shown under a term of ours above the record was elected by us under it, into a
  // record we no longer have: it keeps that token rather than getting a new one.
  if (seen.shownTerm !== undefined && seen.shownTerm > recordedTerm && seen.shownTerm === highest)
    return seen.shownTerm;
  // Anyone else took it: a new holder, a new term above every one seen.
  return highest + 1;
}
