import { hasLeft, isCandidateExpired, isHolderCandidate, openPingCloses } from './liveness.js';
import { compareByStrategy, compareCandidates, hasOrderableVersions } from './ordering.js';
import { countsAsAlive } from './pings.js';
import type { Candidate, LeaseRecord, Millis } from './types.js';
import { compareVersions } from './versions.js';

/*
 * Why the strategy ranks the candidates as it does, in words an operator reads: the decision
 * history, the Kubernetes Events and `cli explain` all say it the same way, from the same order
 * the reconcile step uses (ordering.ts).
 */

/** How a candidate stands for the next vote: `live` counts as alive, `pinged` has a ping to answer. */
export type Standing = 'live' | 'pinged' | 'stale';

/** What separates a candidate from the one ranked just above it (the first: from the second). */
export type Criterion = 'emulationVersion' | 'binaryVersion' | 'age' | 'name' | 'cluster' | 'holder';

export interface RankedCandidate {
  /** 1 is the candidate the strategy picks. */
  readonly rank: number;
  readonly cluster: string;
  readonly name: string;
  readonly emulationVersion: string;
  readonly binaryVersion: string;
  readonly ageMs: Millis;
  readonly standing: Standing;
  /** What decides its place against its neighbour; undefined for a lone candidate. */
  readonly criterion?: Criterion;
  readonly reason: string;
}

export interface LeftOutCandidate {
  readonly cluster: string;
  readonly name: string;
  readonly reason: string;
}

export interface Ranking {
  readonly ranked: readonly RankedCandidate[];
  readonly leftOut: readonly LeftOutCandidate[];
}

/**
 * Every stored candidate of a lease, ranked as OldestEmulationVersion orders them (the holder kept
 * first when the strategy ranks it equal to the best, as pickLeader does), or left out with why.
 */
export function rankCandidates(
  candidates: readonly Candidate[],
  lease: LeaseRecord | undefined,
  now: Millis,
): Ranking {
  const leftOut: LeftOutCandidate[] = [];
  const orderable: Candidate[] = [];
  for (const c of candidates) {
    const why = leftOutReason(c, lease, now);
    if (why === undefined) orderable.push(c);
    else leftOut.push({ cluster: c.cluster, name: c.name, reason: why });
  }
  const holder = lease?.holderIdentity || undefined;
  const sorted = [...orderable].sort(compareCandidates);
  keepEqualHolderFirst(sorted, holder);
  const ranked = sorted.map((c, index): RankedCandidate => {
    const [criterion, reason] =
      index === 0
        ? leaderReason(c, sorted[1], holder)
        : belowReason(sorted[index - 1] as Candidate, c, holder);
    return {
      rank: index + 1,
      cluster: c.cluster,
      name: c.name,
      emulationVersion: c.emulationVersion,
      binaryVersion: c.binaryVersion,
      ageMs: now - c.creationTimestamp,
      standing: standingOf(c, now),
      ...(criterion !== undefined && { criterion }),
      reason,
    };
  });
  return { ranked, leftOut };
}

/** The ranking a vote runs on: the candidates that count as alive now (reconcile.ts). */
export function voteRanking(
  candidates: readonly Candidate[],
  lease: LeaseRecord | undefined,
  now: Millis,
): Ranking {
  return rankCandidates(
    candidates.filter((c) => countsAsAlive(c, now)),
    lease,
    now,
  );
}

/**
 * The ranking a preemption stands on: the live holder beside the candidates that count as alive.
 * The holder is in by its renewed Lease, not by its LeaseCandidate, which is seldom seconds old (the
 * candidate agent renews it every 5 minutes); without it, a preemption's reason read "the only live
 * candidate" while the holder was alive and leading.
 */
export function preemptionRanking(
  candidates: readonly Candidate[],
  lease: LeaseRecord | undefined,
  now: Millis,
): Ranking {
  return rankCandidates(
    candidates.filter((c) => countsAsAlive(c, now) || isHolderCandidate(c, lease)),
    lease,
    now,
  );
}

/**
 * One sentence for a decision, as Events and the history carry it: "Elected sched-b (term 4):
 * lowest emulation version 1.33.0 of 3 candidates".
 */
export function decisionMessage(
  verb: string,
  who: string,
  term: number,
  ranking: Ranking | undefined,
): string {
  const top = ranking?.ranked[0];
  const count = ranking?.ranked.length ?? 0;
  const head = `${verb} ${who} (term ${term})`;
  if (top === undefined || top.name !== who) return head;
  return `${head}: ${winningPhrase(top, count)}`;
}

function winningPhrase(top: RankedCandidate, count: number): string {
  const of = `of ${count} candidates`;
  switch (top.criterion) {
    case undefined:
      // A vote counts only the candidates alive now (voteRanking): others may be stored beside it.
      return 'the only live candidate';
    case 'emulationVersion':
      return `lowest emulation version ${top.emulationVersion} ${of}`;
    case 'binaryVersion':
      return `lowest binary version ${top.binaryVersion} at emulation version ${top.emulationVersion} ${of}`;
    case 'age':
      return `oldest at versions ${top.emulationVersion}/${top.binaryVersion} ${of}`;
    case 'holder':
      return `holder kept, ranked equal to the best ${of}`;
    default:
      return `first by ${top.criterion} among equals (tie-break) ${of}`;
  }
}

function leftOutReason(c: Candidate, lease: LeaseRecord | undefined, now: Millis): string | undefined {
  if (isCandidateExpired(c, now)) return 'expired: no renewal for 30m';
  if (hasLeft(c, lease))
    return askedSinceRelease(c, lease)
      ? 'released the lease, and has not answered the ping sent since (nobody else could lead)'
      : 'released the lease and has not renewed since';
  if (!hasOrderableVersions(c))
    return `versions not orderable: emulation "${c.emulationVersion}", binary "${c.binaryVersion}"`;
  return undefined;
}

/** A ping after its release: the one a holder that left gets when nobody else can lead (leftHoldersToAsk). */
function askedSinceRelease(c: Candidate, lease: LeaseRecord | undefined): boolean {
  return c.pingTime !== undefined && lease?.releasedAt !== undefined && c.pingTime > lease.releasedAt;
}

export function standingOf(c: Candidate, now: Millis): Standing {
  if (countsAsAlive(c, now)) return 'live';
  return openPingCloses(c, now) === undefined ? 'stale' : 'pinged';
}

/** pickLeader keeps a holder the strategy ranks equal to the best: so does the ranking. */
function keepEqualHolderFirst(sorted: Candidate[], holder: string | undefined): void {
  const best = sorted[0];
  if (best === undefined || holder === undefined || best.name === holder) return;
  const index = sorted.findIndex((c) => c.name === holder && compareByStrategy(c, best) === 0);
  if (index > 0) sorted.unshift(...sorted.splice(index, 1));
}

type Verdict = [Criterion | undefined, string];

function leaderReason(c: Candidate, next: Candidate | undefined, holder: string | undefined): Verdict {
  if (next === undefined) return [undefined, 'the only candidate'];
  const criterion = separating(c, next, holder);
  return [criterion, `best: ${aheadPhrase(criterion, c, next)}`];
}

function belowReason(above: Candidate, c: Candidate, holder: string | undefined): Verdict {
  const criterion = separating(above, c, holder);
  return [criterion, `after ${above.name}: ${behindPhrase(criterion, above, c)}`];
}

/** The first rule of the order that tells `a` (ranked higher) from `b`. */
export function separating(a: Candidate, b: Candidate, holder?: string): Criterion {
  if (compareVersions(a.emulationVersion, b.emulationVersion) !== 0) return 'emulationVersion';
  if (compareVersions(a.binaryVersion, b.binaryVersion) !== 0) return 'binaryVersion';
  if (a.creationTimestamp !== b.creationTimestamp) return 'age';
  if (holder !== undefined && a.name === holder && b.name !== holder) return 'holder';
  return a.name !== b.name ? 'name' : 'cluster';
}

function aheadPhrase(criterion: Criterion, c: Candidate, next: Candidate): string {
  switch (criterion) {
    case 'emulationVersion':
      return `lowest emulation version ${c.emulationVersion} (next ${next.emulationVersion})`;
    case 'binaryVersion':
      return `lowest binary version ${c.binaryVersion} (next ${next.binaryVersion})`;
    case 'age':
      return `oldest at the same versions (created ${formatAge(next.creationTimestamp - c.creationTimestamp)} before ${next.name})`;
    case 'holder':
      return 'the holder, ranked equal to the next: kept';
    case 'name':
      return `same versions and age: name before ${next.name} (tie-break)`;
    case 'cluster':
      return `same versions, age and name: cluster before ${next.cluster} (tie-break)`;
  }
}

function behindPhrase(criterion: Criterion, above: Candidate, c: Candidate): string {
  switch (criterion) {
    case 'emulationVersion':
      return `emulation version ${c.emulationVersion} above ${above.emulationVersion}`;
    case 'binaryVersion':
      return `same emulation version, binary version ${c.binaryVersion} above ${above.binaryVersion}`;
    case 'age':
      return `same versions, created ${formatAge(c.creationTimestamp - above.creationTimestamp)} later`;
    case 'holder':
      return 'ranked equal; the holder is kept';
    case 'name':
      return 'same versions and age, name after it (tie-break)';
    case 'cluster':
      return 'same versions, age and name, cluster after it (tie-break)';
  }
}

/**
 * A duration as kubectl prints ages (its HumanDuration): 45s, 3m20s, 12m, 5h30m, 2d3h, 120d.
 */
export function formatAge(ms: Millis): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  return `${days}d`;
}
