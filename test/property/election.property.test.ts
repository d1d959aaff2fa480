import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  admissibleCandidates,
  holderOf,
  isCandidateExpired,
  isLeaseExpired,
} from '../../lib/election/liveness.js';
import { pickLeader } from '../../lib/election/ordering.js';
import { reconcileStep } from '../../lib/election/reconcile.js';
import { ELECTION_DURATION_MS } from '../../lib/election/timing.js';
import {
  type Candidate,
  type ElectionStep,
  type LeaseRecord,
  OLDEST_EMULATION_VERSION,
  OUR_OLDEST_EMULATION_VERSION,
} from '../../lib/election/types.js';
import { compareVersions } from '../../lib/election/versions.js';

/**
 * Properties of the pure election core over random candidates, leases and histories.
 * Times cluster around the rule boundaries (5 s ack window, lease expiry, 15 and 30 minutes).
 */

const NOW = Date.UTC(2026, 6, 1, 12, 0, 0);
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const E = ELECTION_DURATION_MS;
const THIRD_PARTY = 'foo.com/bar';
const NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g'] as const;

const versionArb = fc.constantFrom('1.2.0', '1.18.0', '1.19.0', '1.20.0-rc.1', '1.20.0', '1.31.0');
const strategyArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant(OLDEST_EMULATION_VERSION) },
  { weight: 1, arbitrary: fc.constant(OUR_OLDEST_EMULATION_VERSION) },
  { weight: 1, arbitrary: fc.constant(THIRD_PARTY) },
);
/** How long ago something happened: often right at a boundary, sometimes anywhere. */
const agoArb = fc.oneof(
  fc.constantFrom(
    0,
    1,
    1_000,
    E - 1,
    E,
    E + 1,
    2 * E,
    15 * MINUTE,
    15 * MINUTE + 1,
    30 * MINUTE,
    30 * MINUTE + 1,
  ),
  fc.integer({ min: 0, max: 3 * E }),
  fc.integer({ min: 0, max: 35 * MINUTE }),
);

interface CandidateFields {
  readonly name: string;
  readonly cluster: string;
  readonly versions: readonly [string, string];
  readonly strategy: string;
  readonly noEmulation: boolean;
  readonly createdAgo: number;
  readonly renewAgo: number | null;
  readonly pingAgo: number | null;
}

const candidateFieldsArb = (names: readonly string[]) =>
  fc.record({
    name: fc.constantFrom(...names),
    cluster: fc.constantFrom('alpha', 'beta'),
    versions: fc.tuple(versionArb, versionArb),
    strategy: strategyArb,
    noEmulation: fc.boolean(),
    createdAgo: fc.constantFrom(0, SECOND, MINUTE, 60 * MINUTE),
    renewAgo: fc.option(agoArb, { nil: null, freq: 20 }),
    pingAgo: fc.option(agoArb, { nil: null, freq: 2 }),
  });

function toCandidate(f: CandidateFields, now: number): Candidate {
  const [low, high] = [...f.versions].sort(compareVersions) as [string, string];
  const thirdParty = f.strategy === THIRD_PARTY;
  return {
    cluster: f.cluster,
    namespace: 'kube-system',
    name: f.name,
    leaseName: 'component-A',
    apiVersion: 'v1beta1',
    binaryVersion: high,
    // Validation lets only third-party candidates omit the emulation version.
    emulationVersion: thirdParty && f.noEmulation ? '' : low,
    strategy: f.strategy,
    creationTimestamp: now - f.createdAgo,
    ...(f.renewAgo !== null && { renewTime: now - f.renewAgo }),
    ...(f.pingAgo !== null && { pingTime: now - f.pingAgo }),
  };
}

/** Candidates with distinct names (the name is what a Lease holds). */
const candidatesArb = fc
  .uniqueArray(candidateFieldsArb(NAMES), { selector: (f) => f.name, minLength: 1, maxLength: 5 })
  .map((fields) => fields.map((f) => toCandidate(f, NOW)));

/** Candidates where the same name may appear in two clusters. */
const multiClusterCandidatesArb = fc
  .uniqueArray(candidateFieldsArb(NAMES.slice(0, 3)), {
    selector: (f) => `${f.cluster}/${f.name}`,
    minLength: 1,
    maxLength: 6,
  })
  .map((fields) => fields.map((f) => toCandidate(f, NOW)));

const leaseArb: fc.Arbitrary<LeaseRecord> = fc
  .record({
    holder: fc.option(fc.constantFrom('', 'other', ...NAMES), { nil: undefined, freq: 6 }),
    leaseDurationSeconds: fc.option(fc.constantFrom(1, 5, 10, 15), { nil: undefined, freq: 10 }),
    renewAgo: fc.option(
      fc.oneof(
        fc.constantFrom(0, 4_999, 5_000, 5_001, 10_000, 15_001, MINUTE),
        fc.integer({ min: 0, max: 20_000 }),
      ),
      { nil: null, freq: 10 },
    ),
    strategy: fc.option(strategyArb, { nil: undefined }),
    preferredHolder: fc.option(fc.constantFrom(...NAMES), { nil: undefined, freq: 3 }),
    leaseTransitions: fc.option(fc.nat(3), { nil: undefined }),
    term: fc.nat(20),
  })
  .map((l) => ({
    ...(l.holder !== undefined && { holderIdentity: l.holder }),
    ...(l.leaseDurationSeconds !== undefined && { leaseDurationSeconds: l.leaseDurationSeconds }),
    ...(l.renewAgo !== null && { renewTime: NOW - l.renewAgo }),
    // Validation: a preferredHolder needs a strategy.
    ...(l.strategy !== undefined && { strategy: l.strategy }),
    ...(l.strategy !== undefined &&
      l.preferredHolder !== undefined && { preferredHolder: l.preferredHolder }),
    ...(l.leaseTransitions !== undefined && { leaseTransitions: l.leaseTransitions }),
    term: l.term,
  }));

/** A live lease with a holder: not expired at NOW. */
const liveLeaseArb: fc.Arbitrary<LeaseRecord> = fc
  .record({
    lease: leaseArb,
    holder: fc.constantFrom('other', ...NAMES),
    leaseDurationSeconds: fc.constantFrom(1, 5, 10, 15),
    fraction: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ lease, holder, leaseDurationSeconds, fraction }) => ({
    ...lease,
    holderIdentity: holder,
    leaseDurationSeconds,
    renewTime: NOW - Math.floor(fraction * leaseDurationSeconds * SECOND),
  }));

/** What a step decides, independent of how the candidates were listed. */
function decision(step: ElectionStep) {
  return {
    action: step.action,
    write: step.write,
    ping: step.ping.map((c) => `${c.cluster}/${c.name}`).sort(),
    requeueAfterMs: step.requeueAfterMs,
    error: step.error,
  };
}

function isUnacked(c: Candidate): boolean {
  return c.pingTime !== undefined && (c.renewTime ?? Number.NEGATIVE_INFINITY) < c.pingTime;
}

/** The fields a write to a live, held lease must leave alone. */
function holderFields(lease: LeaseRecord) {
  return {
    holderIdentity: lease.holderIdentity,
    leaseDurationSeconds: lease.leaseDurationSeconds,
    renewTime: lease.renewTime,
    acquireTime: lease.acquireTime,
    leaseTransitions: lease.leaseTransitions,
    term: lease.term,
  };
}

/** Checks the term rule for one write; `before` undefined means the Lease did not exist. */
function expectTermRule(before: LeaseRecord | undefined, after: LeaseRecord): void {
  const previous = before?.term ?? 0;
  const newHolder = !!after.holderIdentity && after.holderIdentity !== before?.holderIdentity;
  expect(after.term).toBeGreaterThanOrEqual(previous);
  expect(after.term).toBe(newHolder ? previous + 1 : previous);
}

type Command =
  | { readonly kind: 'step' }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'ack'; readonly who: number }
  | { readonly kind: 'ackPings' }
  | { readonly kind: 'heartbeat' }
  | { readonly kind: 'renew' }
  | { readonly kind: 'release' };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: 'step' } as const) },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        { weight: 6, arbitrary: fc.integer({ min: 1, max: 3 * E }) },
        { weight: 3, arbitrary: fc.constantFrom(E, E + 1, 15 * SECOND) },
        { weight: 1, arbitrary: fc.constantFrom(16 * MINUTE, 31 * MINUTE) },
      )
      .map((ms) => ({ kind: 'advance', ms }) as const),
  },
  { weight: 2, arbitrary: fc.nat(6).map((who) => ({ kind: 'ack', who }) as const) },
  { weight: 3, arbitrary: fc.constant({ kind: 'ackPings' } as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'heartbeat' } as const) },
  { weight: 2, arbitrary: fc.constant({ kind: 'renew' } as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'release' } as const) },
);

describe('election (property)', () => {
  it('(a) the decision does not depend on candidate order', () => {
    fc.assert(
      fc.property(
        fc.option(leaseArb, { nil: undefined, freq: 3 }),
        fc
          .oneof(candidatesArb, multiClusterCandidatesArb)
          .chain((candidates) =>
            fc.tuple(
              fc.constant(candidates),
              fc.shuffledSubarray(candidates, { minLength: candidates.length, maxLength: candidates.length }),
            ),
          ),
        (lease, [candidates, shuffled]) => {
          const a = reconcileStep({ lease, candidates, now: NOW });
          const b = reconcileStep({ lease, candidates: shuffled, now: NOW });
          expect(decision(b)).toEqual(decision(a));
          // Reversal is the ordering upstream tests most often get wrong.
          const c = reconcileStep({ lease, candidates: [...candidates].reverse(), now: NOW });
          expect(decision(c)).toEqual(decision(a));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('(b) an expired candidate, or an unacked one that another could still beat, is never written as the new holder', () => {
    let elections = 0;
    fc.assert(
      fc.property(fc.option(leaseArb, { nil: undefined, freq: 2 }), candidatesArb, (lease, candidates) => {
        const step = reconcileStep({ lease, candidates, now: NOW });
        const holder = step.write?.holderIdentity;
        if (step.action !== 'create' && step.action !== 'takeover') return;
        if (!holder || holder === lease?.holderIdentity) return;
        elections++;
        const elected = candidates.find((c) => c.name === holder);
        expect(elected).toBeDefined();
        if (elected === undefined) return;
        expect(isCandidateExpired(elected, NOW)).toBe(false);
        // A ping still unanswered is waited for, unless the one elected is the strategy's best of
        // all live candidates and renewed within the window: no answer could change the vote.
        if (isUnacked(elected)) {
          const live = admissibleCandidates(candidates, NOW);
          expect(pickLeader(live, holderOf(lease))?.name).toBe(elected.name);
        }
        // Acked means: renewed within the last ping window.
        expect((elected.renewTime ?? Number.NEGATIVE_INFINITY) + E).toBeGreaterThan(NOW);
      }),
      { numRuns: 1_500 },
    );
    // The generators must actually reach elections for the property to say anything.
    expect(elections).toBeGreaterThan(50);
  });

  it('(c) along random histories the term never goes down and rises exactly with a new holder', () => {
    let writes = 0;
    let newHolders = 0;
    fc.assert(
      fc.property(
        fc.option(leaseArb, { nil: undefined }),
        candidatesArb,
        fc.array(commandArb, { minLength: 5, maxLength: 60, size: 'medium' }),
        (initialLease, initialCandidates, commands) => {
          let now = NOW;
          let lease = initialLease;
          let candidates = initialCandidates;
          let lastTerm = lease?.term ?? 0;
          for (const command of commands) {
            switch (command.kind) {
              case 'step': {
                const step = reconcileStep({ lease, candidates, now });
                const pinged = new Set(step.ping);
                candidates = candidates.map((c) => (pinged.has(c) ? { ...c, pingTime: now } : c));
                if (step.write !== null) {
                  writes++;
                  if (step.write.holderIdentity && step.write.holderIdentity !== lease?.holderIdentity)
                    newHolders++;
                  expectTermRule(lease, step.write);
                  if (lease !== undefined && holderOf(lease) !== undefined && !isLeaseExpired(lease, now)) {
                    expect(holderFields(step.write)).toEqual(holderFields(lease));
                  }
                  lease = step.write;
                }
                break;
              }
              case 'advance':
                now += command.ms;
                break;
              case 'ack': {
                const target = candidates[command.who % candidates.length];
                candidates = candidates.map((c) => (c === target ? { ...c, renewTime: now } : c));
                break;
              }
              case 'ackPings':
                candidates = candidates.map((c) => (isUnacked(c) ? { ...c, renewTime: now } : c));
                break;
              case 'heartbeat':
                // Every live client renews its candidate (client-go does so every 5 minutes).
                candidates = candidates.map((c) => ({ ...c, renewTime: now }));
                break;
              case 'renew':
                // A coordinated holder renews only while nobody is preferred.
                if (lease?.holderIdentity && !lease.preferredHolder) {
                  lease = { ...lease, renewTime: now, leaseDurationSeconds: 15 };
                }
                break;
              case 'release':
                if (lease?.holderIdentity) {
                  lease = {
                    holderIdentity: '',
                    leaseDurationSeconds: 1,
                    renewTime: now,
                    acquireTime: now,
                    leaseTransitions: lease.leaseTransitions,
                    term: lease.term,
                  };
                }
                break;
            }
            const term = lease?.term ?? 0;
            expect(term).toBeGreaterThanOrEqual(lastTerm);
            lastTerm = term;
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(writes).toBeGreaterThan(200);
    expect(newHolders).toBeGreaterThan(150);
  });

  it('(d) a live holder is never replaced: only preferredHolder and strategy may change', () => {
    let written = 0;
    fc.assert(
      fc.property(liveLeaseArb, candidatesArb, (lease, candidates) => {
        expect(isLeaseExpired(lease, NOW)).toBe(false);
        const step = reconcileStep({ lease, candidates, now: NOW });
        if (step.write === null) return;
        written++;
        expect(step.action).not.toBe('takeover');
        expect(step.action).not.toBe('create');
        expect(holderFields(step.write)).toEqual(holderFields(lease));
      }),
      { numRuns: 1_000 },
    );
    expect(written).toBeGreaterThan(25);
  });
});
