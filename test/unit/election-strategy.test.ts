import { describe, expect, it } from 'vitest';
import { resolvePreferredStrategies, resolveStrategy } from '../../lib/election/strategy.js';
import { type Candidate, OLDEST_EMULATION_VERSION } from '../../lib/election/types.js';
import { ElectionError } from '../../lib/errors.js';

/**
 * Strategy resolution: upstream pickBestStrategy (docs/design.md, U4; its cases from
 * TestPickBestStrategy, U5) for v1alpha2/v1beta1, and the 1.31 topological rule over v1alpha1
 * preferredStrategies. Deliberate difference: the answer never depends on candidate order.
 */

const OEV = OLDEST_EMULATION_VERSION;
const FOO = 'foo.com/bar';
const NOW = Date.UTC(2026, 6, 1, 12, 0, 0);

let serial = 0;
function candidate(strategy: string, binaryVersion: string, extra: Partial<Candidate> = {}): Candidate {
  serial++;
  return {
    cluster: 'alpha',
    namespace: 'kube-system',
    name: `c${serial}`,
    leaseName: 'component-A',
    apiVersion: 'v1beta1',
    binaryVersion,
    emulationVersion: binaryVersion,
    strategy,
    creationTimestamp: NOW,
    renewTime: NOW,
    ...extra,
  };
}

/** A 1.31 candidate: its strategy is the first preferred one. */
function v1alpha1(preferredStrategies: string[], binaryVersion = '1.31.0'): Candidate {
  return candidate(preferredStrategies[0] ?? '', binaryVersion, {
    apiVersion: 'v1alpha1',
    preferredStrategies,
  });
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, index) =>
    permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]),
  );
}

describe('election strategy (unit)', () => {
  describe('resolveStrategy (upstream TestPickBestStrategy), in both list orders', () => {
    const cases: { name: string; candidates: Candidate[]; want: string | ElectionErrorClass }[] = [
      { name: 'single candidate, single OEV strategy', candidates: [candidate(OEV, '1.31.0')], want: OEV },
      {
        name: 'OEV vs third-party, both with empty binary versions',
        candidates: [candidate(OEV, ''), candidate(FOO, '')],
        want: ElectionError,
      },
      {
        name: 'OEV at a higher binary version than third-party',
        candidates: [candidate(OEV, '1.32.0'), candidate(FOO, '1.31.0')],
        want: OEV,
      },
      {
        name: 'OEV at 1.1.10 vs third-party at 1.1.2 (semver, not string compare)',
        candidates: [candidate(OEV, '1.1.10'), candidate(FOO, '1.1.2')],
        want: OEV,
      },
      {
        name: 'third-party at 1.1.10 vs OEV at 1.1.2',
        candidates: [candidate(FOO, '1.1.10'), candidate(OEV, '1.1.2')],
        want: FOO,
      },
      {
        name: 'both OEV at the same binary version',
        candidates: [candidate(OEV, '1.31.0'), candidate(OEV, '1.31.0')],
        want: OEV,
      },
      {
        name: 'OEV and third-party at the same binary version',
        candidates: [candidate(OEV, '1.31.0'), candidate(FOO, '1.31.0')],
        want: ElectionError,
      },
      {
        name: 'a release beats its own pre-release',
        candidates: [candidate(FOO, '1.31.0-rc.1'), candidate(OEV, '1.31.0')],
        want: OEV,
      },
      {
        name: 'build metadata does not make versions differ',
        candidates: [candidate(FOO, '1.31.0+a'), candidate(OEV, '1.31.0+b')],
        want: ElectionError,
      },
    ];

    for (const { name, candidates, want } of cases) {
      for (const [orderName, order] of [
        ['listed order', candidates],
        ['reversed order', [...candidates].reverse()],
      ] as const) {
        it(`${name} (${orderName})`, () => {
          if (typeof want === 'string') {
            expect(resolveStrategy(order)).toBe(want);
          } else {
            expect(() => resolveStrategy(order)).toThrow(want);
          }
        });
      }
    }

    it('no candidates is an error', () => {
      expect(() => resolveStrategy([])).toThrow(ElectionError);
      expect(() => resolveStrategy([])).toThrow('no candidates');
    });

    it('the disagreement error names the version and both strategies', () => {
      expect(() => resolveStrategy([candidate(OEV, '1.31.0'), candidate(FOO, '1.31.0')])).toThrow(
        /1\.31\.0.*OldestEmulationVersion.*foo\.com\/bar|1\.31\.0.*foo\.com\/bar.*OldestEmulationVersion/,
      );
    });
  });

  describe('order independence (deliberate difference: upstream depends on list order)', () => {
    it('A(1.30,X), B(1.30,Y), C(1.31,Z) resolves to Z in every order', () => {
      // Upstream: order A,B,C errors on A vs B before it sees C; order C,A,B gives Z.
      const candidates = [
        candidate('x.io/x', '1.30.0'),
        candidate('y.io/y', '1.30.0'),
        candidate('z.io/z', '1.31.0'),
      ];
      for (const order of permutations(candidates)) {
        expect(resolveStrategy(order)).toBe('z.io/z');
      }
    });

    it('A(1.31,X), B(1.31,Y), C(1.30,Z) is an error in every order', () => {
      const candidates = [
        candidate('x.io/x', '1.31.0'),
        candidate('y.io/y', '1.31.0'),
        candidate('z.io/z', '1.30.0'),
      ];
      for (const order of permutations(candidates)) {
        expect(() => resolveStrategy(order)).toThrow(ElectionError);
      }
    });

    it('an unparsable binary version counts as 0.0.0 and loses to any real version', () => {
      const candidates = [candidate(FOO, 'garbage'), candidate(OEV, '0.0.1')];
      for (const order of permutations(candidates)) {
        expect(resolveStrategy(order)).toBe(OEV);
      }
    });
  });

  describe('v1alpha1 preferredStrategies (1.31 topological rule)', () => {
    it('a single list: its first entry', () => {
      expect(resolvePreferredStrategies([[OEV, FOO]])).toBe(OEV);
      expect(resolvePreferredStrategies([[FOO, OEV]])).toBe(FOO);
    });

    it('every list starts with X: X', () => {
      expect(resolvePreferredStrategies([[OEV], [OEV, FOO], [OEV]])).toBe(OEV);
    });

    it('chain [A,B] + [B]: A supersedes B', () => {
      expect(resolvePreferredStrategies([['a.io/a', 'b.io/b'], ['b.io/b']])).toBe('a.io/a');
      expect(resolvePreferredStrategies([['b.io/b'], ['a.io/a', 'b.io/b']])).toBe('a.io/a');
    });

    it('a longer chain built from pieces: [B,C] + [A,B] + [C]: A', () => {
      expect(resolvePreferredStrategies([['b.io/b', 'c.io/c'], ['a.io/a', 'b.io/b'], ['c.io/c']])).toBe(
        'a.io/a',
      );
    });

    it('two roots, [A] + [B]: invalid strategy', () => {
      expect(() => resolvePreferredStrategies([['a.io/a'], ['b.io/b']])).toThrow(ElectionError);
      expect(() => resolvePreferredStrategies([['a.io/a'], ['b.io/b']])).toThrow(/invalid strategy/);
    });

    it('two roots feeding one strategy, [A,C] + [B,C]: invalid strategy', () => {
      expect(() =>
        resolvePreferredStrategies([
          ['a.io/a', 'c.io/c'],
          ['b.io/b', 'c.io/c'],
        ]),
      ).toThrow(ElectionError);
    });

    it('a cycle, [A,B] + [B,A]: invalid strategy', () => {
      expect(() =>
        resolvePreferredStrategies([
          ['a.io/a', 'b.io/b'],
          ['b.io/b', 'a.io/a'],
        ]),
      ).toThrow(/invalid strategy/);
    });

    it('a cycle below a single root, [R,A] + [A,B] + [B,A]: invalid strategy', () => {
      expect(() =>
        resolvePreferredStrategies([
          ['r.io/r', 'a.io/a'],
          ['a.io/a', 'b.io/b'],
          ['b.io/b', 'a.io/a'],
        ]),
      ).toThrow(/cycle/);
    });

    it('no lists at all: invalid strategy', () => {
      expect(() => resolvePreferredStrategies([])).toThrow(ElectionError);
    });

    it('resolveStrategy uses the topological rule when every candidate speaks v1alpha1', () => {
      const candidates = [v1alpha1(['b.io/b'], '1.31.5'), v1alpha1(['a.io/a', 'b.io/b'], '1.31.0')];
      for (const order of permutations(candidates)) {
        // The binary-version rule would have said b.io/b.
        expect(resolveStrategy(order)).toBe('a.io/a');
      }
      expect(() => resolveStrategy([v1alpha1(['a.io/a']), v1alpha1(['b.io/b'])])).toThrow(ElectionError);
      expect(() => resolveStrategy([v1alpha1(['a.io/a', 'b.io/b']), v1alpha1(['b.io/b', 'a.io/a'])])).toThrow(
        ElectionError,
      );
    });

    it('a mix of v1alpha1 and newer candidates falls back to the binary-version rule', () => {
      const candidates = [v1alpha1([FOO, OEV], '1.31.0'), candidate(OEV, '1.32.0')];
      for (const order of permutations(candidates)) {
        expect(resolveStrategy(order)).toBe(OEV);
      }
      expect(() => resolveStrategy([v1alpha1([FOO, OEV], '1.32.0'), candidate(OEV, '1.32.0')])).toThrow(
        ElectionError,
      );
    });
  });
});

type ElectionErrorClass = typeof ElectionError;
