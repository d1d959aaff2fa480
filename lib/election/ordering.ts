import type { Candidate } from './types.js';
import { compareVersions, isStrictSemver } from './versions.js';

/** A candidate takes part in OldestEmulationVersion only with both versions valid. */
export function hasOrderableVersions(candidate: Candidate): boolean {
  return isStrictSemver(candidate.emulationVersion) && isStrictSemver(candidate.binaryVersion);
}

/**
 * OldestEmulationVersion as upstream defines it: lower emulation version, then lower binary
 * version, then older creationTimestamp. 0 means the strategy cannot tell the two apart.
 */
export function compareByStrategy(a: Candidate, b: Candidate): number {
  return (
    compareVersions(a.emulationVersion, b.emulationVersion) ||
    compareVersions(a.binaryVersion, b.binaryVersion) ||
    Math.sign(a.creationTimestamp - b.creationTimestamp)
  );
}

/**
 * The strategy's order with a deterministic end. Upstream settles exact ties by list order,
 * which is random; we break them by candidate name, then cluster name, so every coordinator
 * replica and every replay picks the same winner. Negative means `a` is the better leader.
 */
export function compareCandidates(a: Candidate, b: Candidate): number {
  return compareByStrategy(a, b) || compareStrings(a.name, b.name) || compareStrings(a.cluster, b.cluster);
}

function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** The best leader among candidates with valid versions, or undefined if there is none. */
export function pickBestCandidate(candidates: readonly Candidate[]): Candidate | undefined {
  let best: Candidate | undefined;
  for (const candidate of candidates) {
    if (!hasOrderableVersions(candidate)) continue;
    if (best === undefined || compareCandidates(candidate, best) < 0) best = candidate;
  }
  return best;
}

/**
 * The leader to elect, keeping the current holder when the strategy ranks it equal to the best:
 * the name tie-break makes a choice deterministic; it is no reason to move a lease.
 */
export function pickLeader(
  candidates: readonly Candidate[],
  holder: string | undefined,
): Candidate | undefined {
  const best = pickBestCandidate(candidates);
  if (best === undefined || holder === undefined) return best;
  // The holder may have a candidate in several clusters of a lease group: the same deterministic
  // order picks among them, so no verdict on the one picked (is it alive?) depends on list order.
  const incumbent = pickBestCandidate(
    candidates.filter((c) => c.name === holder && compareByStrategy(c, best) === 0),
  );
  return incumbent ?? best;
}
