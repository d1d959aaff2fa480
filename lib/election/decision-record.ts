import {
  decisionMessage,
  type LeftOutCandidate,
  preemptionRanking,
  type RankedCandidate,
  rankCandidates,
  voteRanking,
} from './explain.js';
import { holderOf, isLeaseExpired } from './liveness.js';
import type { Candidate, ElectionStep, LeaseRecord, Millis } from './types.js';

/** At most this many candidates (ranked, and left out) are kept in a record: it stays under 1 KB. */
export const RECORDED_CANDIDATES = 5;

/** A ranked candidate as a record keeps it: without the sentence, which is rebuilt from the rest. */
export type RecordedCandidate = Omit<RankedCandidate, 'reason'>;

/** Why a takeover found the lease free. */
export type TakeoverCause = 'new' | 'released' | 'expired' | 'unheld';

/** A short record of one decision, for the history `cli explain` prints. */
export interface DecisionRecord {
  readonly at: Millis;
  readonly action: 'create' | 'takeover' | 'preempt' | 'ping';
  /** The term after the decision. */
  readonly term: number;
  readonly holder?: string;
  readonly holderCluster?: string;
  readonly preferredHolder?: string;
  /** Who held it before a holder change, and why it was free. */
  readonly previousHolder?: string;
  readonly cause?: TakeoverCause;
  /** One sentence: "Elected sched-b (term 4): lowest emulation version 1.33.0 of 3 candidates". */
  readonly message: string;
  /** What the strategy compared, best first (at most RECORDED_CANDIDATES). */
  readonly ranked: readonly RecordedCandidate[];
  /** How many candidates were ranked in all. */
  readonly rankedCount: number;
  /** Candidates pinged by this step, as cluster/name. */
  readonly pinged: readonly string[];
  /** Candidates the strategy did not rank, and why (at most RECORDED_CANDIDATES). */
  readonly leftOut: readonly LeftOutCandidate[];
}

/**
 * The record of a step that wrote a decision or pinged, judged on the state it was taken from;
 * undefined for a step that changed nothing. Pure: the caller stores it.
 */
export function decisionRecord(
  step: ElectionStep,
  lease: LeaseRecord | undefined,
  candidates: readonly Candidate[],
  now: Millis,
): DecisionRecord | undefined {
  if (step.write === null && step.ping.length === 0) return undefined;
  const all = rankCandidates(candidates, lease, now);
  // The vote runs over the candidates that count as alive: its winner's reason is told among them.
  const vote = voteRanking(candidates, lease, now);
  const written = step.write ?? lease;
  const base = {
    at: now,
    term: written?.term ?? 0,
    ...optional('holder', holderOf(written)),
    ...optional('holderCluster', written?.holderCluster),
    ...optional('preferredHolder', written?.preferredHolder),
    ranked: all.ranked.slice(0, RECORDED_CANDIDATES).map(({ reason, ...kept }) => kept),
    rankedCount: all.ranked.length,
    pinged: step.ping.map((c) => `${c.cluster}/${c.name}`),
    leftOut: all.leftOut.slice(0, RECORDED_CANDIDATES),
  };
  if (step.write === null || step.action === 'ping')
    return { ...base, action: 'ping', message: pingMessage(step, lease, now) };
  if (step.action === 'preempt') {
    const preferred = step.write.preferredHolder;
    const kept = `Kept ${holderOf(step.write) ?? 'no holder'} (term ${step.write.term})`;
    const withdrawn = lease?.preferredHolder;
    const message =
      preferred !== undefined
        ? decisionMessage(
            `Asked ${holderOf(step.write)} to yield to`,
            preferred,
            step.write.term,
            preemptionRanking(candidates, lease, now),
          )
        : withdrawn !== undefined
          ? `${kept}: no longer asked to yield to ${withdrawn}`
          : `${kept}: strategy ${step.write.strategy ?? 'unset'}`;
    return { ...base, action: 'preempt', message };
  }
  const holder = holderOf(step.write);
  const action = step.action === 'create' ? 'create' : 'takeover';
  return {
    ...base,
    action,
    ...optional('previousHolder', holderOf(lease)),
    cause: takeoverCause(lease, now),
    message:
      holder === undefined
        ? `Created with no holder (term ${step.write.term})`
        : decisionMessage('Elected', holder, step.write.term, vote),
  };
}

function takeoverCause(lease: LeaseRecord | undefined, now: Millis): TakeoverCause {
  if (lease === undefined) return 'new';
  if (holderOf(lease) === undefined) return lease.releasedHolder !== undefined ? 'released' : 'unheld';
  return isLeaseExpired(lease, now) ? 'expired' : 'unheld';
}

function pingMessage(step: ElectionStep, lease: LeaseRecord | undefined, now: Millis): string {
  const names = step.ping.map((c) => c.name).join(', ');
  const holder = holderOf(lease);
  if (holder !== undefined && lease !== undefined && !isLeaseExpired(lease, now))
    return `Pinged ${names}: holder ${holder} is live; proof of life before its lease runs out or it yields`;
  return `Pinged ${names}: each must answer within 5s to take part in the vote`;
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
