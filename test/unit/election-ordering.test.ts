import { describe, expect, it } from 'vitest';
import {
  compareCandidates,
  hasOrderableVersions,
  pickBestCandidate,
  pickLeader,
} from '../../lib/election/ordering.js';
import { electionNeeded, reconcileStep } from '../../lib/election/reconcile.js';
import { type Candidate, type LeaseRecord, OLDEST_EMULATION_VERSION } from '../../lib/election/types.js';
import { compareVersions } from '../../lib/election/versions.js';

/**
 * OldestEmulationVersion ordering: the cases of upstream election_test.go
 * (docs/design.md, U5), adapted to our API, plus the deliberate tie-break by
 * candidate name, then cluster (§5 item 3).
 */

const NOW = Date.UTC(2026, 6, 1, 12, 0, 0);
const HOUR = 3_600_000;

function candidate(
  name: string,
  emulationVersion: string,
  binaryVersion: string,
  extra: Partial<Candidate> = {},
): Candidate {
  return {
    cluster: 'alpha',
    namespace: 'kube-system',
    name,
    leaseName: 'component-A',
    apiVersion: 'v1beta1',
    binaryVersion,
    emulationVersion,
    strategy: OLDEST_EMULATION_VERSION,
    creationTimestamp: NOW - HOUR,
    renewTime: NOW,
    ...extra,
  };
}

/** Every ordering of a short list. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, index) =>
    permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]),
  );
}

/** A live lease held by `holder`, as a client-go holder leaves it after a renew. */
function liveLeaseHeldBy(holder: string): LeaseRecord {
  return {
    holderIdentity: holder,
    leaseDurationSeconds: 15,
    renewTime: NOW,
    strategy: OLDEST_EMULATION_VERSION,
    term: 1,
  };
}

describe('election ordering (unit)', () => {
  describe('pickBestCandidate (upstream TestPickBestLeaderOldestEmulationVersion)', () => {
    const cases: { name: string; candidates: Candidate[]; want: string | undefined }[] = [
      { name: 'empty', candidates: [], want: undefined },
      { name: 'single candidate', candidates: [candidate('c1', '0.1.0', '0.1.0')], want: 'c1' },
      {
        name: 'multiple candidates, different emulation versions',
        candidates: [candidate('c1', '0.1.0', '0.2.0'), candidate('c2', '0.2.0', '0.2.0')],
        want: 'c1',
      },
      {
        name: 'multiple candidates, same emulation versions, different binary versions',
        candidates: [candidate('c1', '0.1.0', '0.1.0'), candidate('c2', '0.1.0', '0.2.0')],
        want: 'c1',
      },
      {
        name: 'multiple candidates, same emulation and binary versions, different creation timestamps',
        candidates: [
          candidate('c1', '0.1.0', '0.1.0', { creationTimestamp: NOW - HOUR }),
          candidate('c2', '0.1.0', '0.1.0', { creationTimestamp: NOW }),
        ],
        want: 'c1',
      },
    ];

    it.each(cases)('$name → $want, in every list order', ({ candidates, want }) => {
      for (const order of permutations(candidates)) {
        expect(pickBestCandidate(order)?.name).toBe(want);
      }
    });

    it('skips candidates without orderable versions, however good their versions would compare', () => {
      const invalid = candidate('aaa', 'xyz', '0.0.1');
      const noEmulation = candidate('bbb', '', '0.0.1', { strategy: 'foo.com/bar' });
      const valid = candidate('zzz', '1.31.0', '1.31.0');
      for (const order of permutations([invalid, noEmulation, valid])) {
        expect(pickBestCandidate(order)?.name).toBe('zzz');
      }
      expect(pickBestCandidate([invalid, noEmulation])).toBeUndefined();
    });
  });

  describe('hasOrderableVersions (upstream TestValidLeaseCandidateForOldestEmulationVersion)', () => {
    it.each([
      { name: 'valid emulation and binary versions', ev: '0.1.0', bv: '0.1.0', want: true },
      { name: 'invalid emulation version', ev: 'invalid', bv: '0.1.0', want: false },
      { name: 'invalid binary version', ev: '0.1.0', bv: 'invalid', want: false },
      { name: 'empty emulation version', ev: '', bv: '0.1.0', want: false },
      { name: 'empty binary version', ev: '0.1.0', bv: '', want: false },
      { name: 'pre-release and build metadata', ev: '1.31.0-rc.1', bv: '1.31.0+build.7', want: true },
      // Strict, as the apiserver validates: tolerant forms never reach the election.
      { name: 'leading v', ev: 'v0.1.0', bv: '0.1.0', want: false },
      { name: 'missing patch', ev: '0.1', bv: '0.1.0', want: false },
    ])('$name → $want', ({ ev, bv, want }) => {
      expect(hasOrderableVersions(candidate('c1', ev, bv))).toBe(want);
    });
  });

  describe('compareVersions (upstream TestGetEmulationVersion / TestGetBinaryVersion)', () => {
    it('reads the same version the same way, and orders different ones', () => {
      expect(compareVersions('0.1.0', '0.1.0')).toBe(0);
      expect(compareVersions('0.1.0', '0.3.0')).toBe(-1);
      expect(compareVersions('0.3.0', '0.1.0')).toBe(1);
    });

    it('reads empty and unparsable versions as 0.0.0, like the controller', () => {
      expect(compareVersions('', '0.0.0')).toBe(0);
      expect(compareVersions('xyz', '0.0.0')).toBe(0);
      expect(compareVersions('xyz', '0.0.1')).toBe(-1);
    });
  });

  describe('compareCandidates (upstream TestCompare)', () => {
    const versioned = (extra: Partial<Candidate> = {}) => candidate('c', '1.20.0', '1.21.0', extra);
    const cases: { name: string; lhs: Candidate; rhs: Candidate; want: -1 | 1 }[] = [
      {
        name: 'identical versions, lhs created later: rhs wins',
        lhs: versioned({ creationTimestamp: NOW + 1 }),
        rhs: versioned({ creationTimestamp: NOW }),
        want: 1,
      },
      {
        name: 'identical versions, lhs created earlier: lhs wins',
        lhs: versioned({ creationTimestamp: NOW }),
        rhs: versioned({ creationTimestamp: NOW + 1 }),
        want: -1,
      },
      { name: 'no lhs version (sorts as 0.0.0)', lhs: candidate('c', '', ''), rhs: versioned(), want: -1 },
      { name: 'no rhs version (sorts as 0.0.0)', lhs: versioned(), rhs: candidate('c', '', ''), want: 1 },
      { name: 'invalid lhs version', lhs: candidate('c', 'xyz', 'xyz'), rhs: versioned(), want: -1 },
      { name: 'invalid rhs version', lhs: versioned(), rhs: candidate('c', 'xyz', 'xyz'), want: 1 },
      {
        name: 'lhs emulation version lower',
        lhs: candidate('c', '1.19.0', '1.20.0'),
        rhs: candidate('c', '1.20.0', '1.20.0'),
        want: -1,
      },
      {
        name: 'rhs emulation version lower',
        lhs: candidate('c', '1.20.0', '1.20.0'),
        rhs: candidate('c', '1.19.0', '1.20.0'),
        want: 1,
      },
      {
        name: 'numeric, not lexical: 1.2.0 < 1.19.0',
        lhs: candidate('c', '1.2.0', '1.20.0'),
        rhs: candidate('c', '1.19.0', '1.20.0'),
        want: -1,
      },
      {
        name: 'equal emulation versions: lower binary version wins',
        lhs: candidate('c', '1.19.0', '1.20.0'),
        rhs: candidate('c', '1.19.0', '1.19.0'),
        want: 1,
      },
      {
        name: 'emulation version decides before binary version',
        lhs: candidate('c', '1.19.0', '1.30.0'),
        rhs: candidate('c', '1.20.0', '1.20.0'),
        want: -1,
      },
      {
        name: 'binary version decides before creation timestamp',
        lhs: candidate('c', '1.19.0', '1.20.0', { creationTimestamp: NOW - HOUR }),
        rhs: candidate('c', '1.19.0', '1.19.0', { creationTimestamp: NOW }),
        want: 1,
      },
    ];

    it.each(cases)('$name', ({ lhs, rhs, want }) => {
      expect(Math.sign(compareCandidates(lhs, rhs))).toBe(want);
      // The order is a total order: swapping the arguments flips the sign.
      expect(Math.sign(compareCandidates(rhs, lhs))).toBe(-want);
    });

    it('is 0 only for the same identity with the same versions and timestamp', () => {
      expect(compareCandidates(versioned(), versioned())).toBe(0);
      expect(compareCandidates(versioned(), versioned({ cluster: 'beta' }))).not.toBe(0);
    });
  });

  describe('electionNeeded with a live lease held by the leader (upstream TestShouldReelect)', () => {
    it('false when the leader is better than the other candidate (1.19/1.19 vs 1.19/1.20)', () => {
      const candidates = [candidate('c1', '1.19.0', '1.19.0'), candidate('c2', '1.19.0', '1.20.0')];
      for (const order of permutations(candidates)) {
        expect(electionNeeded(order, liveLeaseHeldBy('c1'), NOW).needed).toBe(false);
      }
    });

    it('false when the other candidate has equal versions', () => {
      const candidates = [candidate('c1', '1.19.0', '1.19.0'), candidate('c2', '1.19.0', '1.19.0')];
      for (const order of permutations(candidates)) {
        expect(electionNeeded(order, liveLeaseHeldBy('c1'), NOW).needed).toBe(false);
      }
    });

    it('false for equal versions when the leader is older, even if the other name sorts first', () => {
      const candidates = [
        candidate('b-leader', '1.19.0', '1.19.0', { creationTimestamp: NOW - 2 * HOUR }),
        candidate('a-other', '1.19.0', '1.19.0', { creationTimestamp: NOW - HOUR }),
      ];
      for (const order of permutations(candidates)) {
        expect(electionNeeded(order, liveLeaseHeldBy('b-leader'), NOW).needed).toBe(false);
      }
    });

    it('false with no candidates', () => {
      expect(electionNeeded([], liveLeaseHeldBy('c1'), NOW).needed).toBe(false);
    });

    it('true when another candidate is strictly better (1.19/1.19 vs leader 1.20/1.20)', () => {
      const candidates = [candidate('c1', '1.20.0', '1.20.0'), candidate('c2', '1.19.0', '1.19.0')];
      for (const order of permutations(candidates)) {
        expect(electionNeeded(order, liveLeaseHeldBy('c1'), NOW)).toEqual({ needed: true });
      }
    });

    it('deliberate: an exact tie (versions and timestamp) keeps the live holder, whatever its name', () => {
      // Upstream settles this by list order, which is random; the name tie-break only makes a
      // fresh choice deterministic and is no reason to move a held lease.
      const candidates = [candidate('b', '1.19.0', '1.19.0'), candidate('a', '1.19.0', '1.19.0')];
      for (const order of permutations(candidates)) {
        expect(electionNeeded(order, liveLeaseHeldBy('b'), NOW).needed).toBe(false);
        expect(electionNeeded(order, liveLeaseHeldBy('a'), NOW).needed).toBe(false);
        expect(pickLeader(order, undefined)?.name).toBe('a');
        expect(pickLeader(order, 'b')?.name).toBe('b');
      }
    });
  });

  it('the holder with a candidate in two clusters of a group: the same one is the incumbent in every order', () => {
    // Found by the property test (a), seed -1625415084: the first of them in list order was taken,
    // and whether the winner counted as alive then depended on that order.
    const candidates = [
      candidate('c', '1.2.0', '1.20.0', { cluster: 'beta', renewTime: NOW }),
      candidate('c', '1.2.0', '1.20.0', { cluster: 'alpha', renewTime: NOW - HOUR / 2 }),
      candidate('a', '1.2.0', '1.31.0'),
    ];
    for (const order of permutations(candidates)) expect(pickLeader(order, 'c')?.cluster).toBe('alpha');
  });

  describe('the baz1..baz4 example (integration TestMultipleLeaseCandidate, e2e)', () => {
    // (binary, emulation): baz1 (1.20,1.20), baz2 (1.20,1.19), baz3 (1.19,1.19), baz4 (1.20,1.19).
    const baz = [
      candidate('baz1', '1.20.0', '1.20.0'),
      candidate('baz2', '1.19.0', '1.20.0'),
      candidate('baz3', '1.19.0', '1.19.0'),
      candidate('baz4', '1.19.0', '1.20.0'),
    ];

    it('baz3 is the best candidate in every list order', () => {
      for (const order of permutations(baz)) {
        expect(pickBestCandidate(order)?.name).toBe('baz3');
      }
    });

    it('baz3 is elected when the Lease is created', () => {
      const step = reconcileStep({ lease: undefined, candidates: baz, now: NOW });
      expect(step.action).toBe('create');
      expect(step.write?.holderIdentity).toBe('baz3');
      expect(step.write?.strategy).toBe(OLDEST_EMULATION_VERSION);
    });
  });

  describe('semver pre-release ordering', () => {
    it.each([
      { better: '1.31.0-rc.1', worse: '1.31.0', why: 'a pre-release sorts below its release' },
      { better: '1.31.0-alpha.2', worse: '1.31.0-beta.1', why: 'pre-release identifiers compare lexically' },
      { better: '1.31.0-alpha.2', worse: '1.31.0-alpha.10', why: 'numeric identifiers compare numerically' },
      { better: '1.31.0-alpha', worse: '1.31.0-alpha.1', why: 'fewer identifiers sort first' },
      { better: '1.30.5', worse: '1.31.0-alpha.0', why: 'a pre-release still sorts above older releases' },
    ])('emulation $better beats $worse ($why)', ({ better, worse }) => {
      const a = candidate('z-better', better, '1.40.0');
      const b = candidate('a-worse', worse, '1.40.0');
      expect(compareCandidates(a, b)).toBeLessThan(0);
      expect(pickBestCandidate([b, a])?.name).toBe('z-better');
    });

    it('the same applies to binary versions when emulation versions are equal', () => {
      const a = candidate('z-better', '1.30.0', '1.31.0-rc.0');
      const b = candidate('a-worse', '1.30.0', '1.31.0');
      expect(pickBestCandidate([b, a])?.name).toBe('z-better');
    });

    it('build metadata is ignored: the creation timestamp decides', () => {
      const older = candidate('z-older', '1.31.0+build.9', '1.31.0', { creationTimestamp: NOW - HOUR });
      const newer = candidate('a-newer', '1.31.0+build.1', '1.31.0', { creationTimestamp: NOW });
      expect(compareVersions('1.31.0+build.9', '1.31.0+build.1')).toBe(0);
      expect(pickBestCandidate([newer, older])?.name).toBe('z-older');
    });
  });

  describe('deterministic tie-break (deliberate difference from upstream list order)', () => {
    it('equal versions and creation timestamp: the name that sorts first wins, in every order', () => {
      const tied = ['sched-c', 'sched-a', 'sched-b'].map((name) => candidate(name, '1.31.0', '1.31.0'));
      for (const order of permutations(tied)) {
        expect(pickBestCandidate(order)?.name).toBe('sched-a');
      }
    });

    it('names compare by code unit, so upper case sorts before lower case', () => {
      const tied = [candidate('host-a', '1.31.0', '1.31.0'), candidate('Host-b', '1.31.0', '1.31.0')];
      for (const order of permutations(tied)) {
        expect(pickBestCandidate(order)?.name).toBe('Host-b');
      }
    });

    it('the same name in two clusters: the cluster that sorts first wins', () => {
      const east = candidate('sched', '1.31.0', '1.31.0', { cluster: 'us-east-1' });
      const west = candidate('sched', '1.31.0', '1.31.0', { cluster: 'eu-west-1' });
      for (const order of permutations([east, west])) {
        expect(pickBestCandidate(order)?.cluster).toBe('eu-west-1');
      }
    });

    it('the name only breaks ties: an older creation timestamp beats a name that sorts first', () => {
      const older = candidate('zz', '1.31.0', '1.31.0', { creationTimestamp: NOW - 1000 });
      const newer = candidate('aa', '1.31.0', '1.31.0', { creationTimestamp: NOW });
      expect(pickBestCandidate([newer, older])?.name).toBe('zz');
    });
  });
});
