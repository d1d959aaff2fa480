import { describe, expect, it } from 'vitest';
import { MAX_IDENTITY_LENGTH, parseLease, TERM_ANNOTATION, toLeaseObject } from '../../lib/api/lease.js';
import {
  CANDIDATE_API_VERSIONS,
  MAX_PREFERRED_STRATEGIES,
  parseLeaseCandidate,
} from '../../lib/api/leasecandidate.js';
import type { LeaseRecord } from '../../lib/election/types.js';
import { ValidationError } from '../../lib/errors.js';

/**
 * Object validation as the apiserver applies it (docs/design.md, U2):
 * LeaseCandidate v1alpha1, v1alpha2 and v1beta1 (and our CRD, with v1beta1's spec), and
 * coordination.k8s.io/v1 Lease.
 */

const RENEW = '2026-07-01T12:00:00.123456Z';
const PING = '2026-07-01T11:59:58.000000Z';
const CREATED = '2026-07-01T11:00:00Z';

type Obj = Record<string, unknown>;

function leaseCandidate(apiVersion: string, spec: Obj = {}, metadata: Obj = {}): Obj {
  const base: Obj =
    apiVersion === 'coordination.k8s.io/v1alpha1'
      ? {
          leaseName: 'kube-scheduler',
          binaryVersion: '1.31.2',
          emulationVersion: '1.31.0',
          preferredStrategies: ['OldestEmulationVersion'],
          renewTime: RENEW,
        }
      : {
          leaseName: 'kube-scheduler',
          binaryVersion: '1.33.2',
          emulationVersion: '1.33.0',
          strategy: 'OldestEmulationVersion',
          renewTime: RENEW,
        };
  return {
    apiVersion,
    kind: 'LeaseCandidate',
    metadata: { name: 'node-1_5e8f2c1a-7d4b-4a4e-9d3c-0b1a2c3d4e5f', namespace: 'kube-system', ...metadata },
    spec: withoutUndefined({ ...base, ...spec }),
  };
}

function withoutUndefined(o: Obj): Obj {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** The issue paths a parse fails with; [] if it succeeds. */
function issuePaths(parse: () => unknown): string[] {
  try {
    parse();
    return [];
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return error.issues.map((issue) => issue.path);
  }
}

function lease(spec: Obj = {}, annotations?: Record<string, string>): Obj {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'kube-scheduler', namespace: 'kube-system', ...(annotations && { annotations }) },
    spec,
  };
}

/** The CRD (infra/kubernetes/leasecandidate-crd.yaml) carries v1beta1's spec, and is validated as it is. */
const SINGLE_STRATEGY_VERSIONS = [
  'coordination.k8s.io/v1beta1',
  'coordination.k8s.io/v1alpha2',
  'coordination.lease-coordinator.dev/v1',
] as const;

describe('api validation (unit)', () => {
  describe.each(SINGLE_STRATEGY_VERSIONS)('parseLeaseCandidate %s', (apiVersion) => {
    const parse = (spec: Obj = {}, metadata: Obj = {}) =>
      parseLeaseCandidate(leaseCandidate(apiVersion, spec, metadata));
    const pathsOf = (spec: Obj = {}, metadata: Obj = {}) => issuePaths(() => parse(spec, metadata));

    it('accepts and normalises a valid object', () => {
      const parsed = parse({ pingTime: PING }, { creationTimestamp: CREATED });
      expect(parsed).toEqual({
        apiVersion: CANDIDATE_API_VERSIONS[apiVersion],
        name: 'node-1_5e8f2c1a-7d4b-4a4e-9d3c-0b1a2c3d4e5f',
        namespace: 'kube-system',
        leaseName: 'kube-scheduler',
        binaryVersion: '1.33.2',
        emulationVersion: '1.33.0',
        strategy: 'OldestEmulationVersion',
        creationTimestamp: Date.parse(CREATED),
        renewTime: Date.parse(RENEW),
        pingTime: Date.parse(PING),
      });
    });

    it('defaults the namespace and accepts null times', () => {
      const parsed = parseLeaseCandidate(
        leaseCandidate(apiVersion, { pingTime: null, renewTime: null }, { namespace: undefined }),
        'fallback',
      );
      expect(parsed.namespace).toBe('fallback');
      expect(parsed.renewTime).toBeUndefined();
      expect(parsed.pingTime).toBeUndefined();
    });

    describe('metadata.name (IsConfigMapKey)', () => {
      it.each([
        'kube-scheduler',
        'hostname_5e8f2c1a-7d4b-4a4e-9d3c-0b1a2c3d4e5f',
        'Host.Name_1',
        '.hidden',
        '...',
        '_',
        'a'.repeat(253),
      ])('accepts %j', (name) => {
        expect(pathsOf({}, { name })).toEqual([]);
      });

      it.each(['.', '..', '', 'a b', 'a/b', 'a:b', 'é', 'a'.repeat(254)])('rejects %j', (name) => {
        expect(pathsOf({}, { name })).toEqual(['metadata.name']);
      });

      it('rejects a missing name', () => {
        expect(pathsOf({}, { name: undefined })).toEqual(['metadata.name']);
      });
    });

    it.each([
      ['empty', ''],
      ['missing', undefined],
    ])('rejects a %s spec.leaseName', (_, leaseName) => {
      expect(pathsOf({ leaseName })).toEqual(['spec.leaseName']);
    });

    describe('versions (strict semver)', () => {
      it.each(['1.33.2', '1.33.2-rc.1', '1.33.2+build.5', '1.33.2-alpha.0+abc', '10.0.0'])(
        'accepts binaryVersion %j',
        (binaryVersion) => {
          expect(pathsOf({ binaryVersion, emulationVersion: '1.0.0' })).toEqual([]);
        },
      );

      it.each(['v1.2.3', '1.2', '1', '1.2.3.4', '01.2.3', '1.2.3-01', ' 1.2.3', '=1.2.3', 'latest'])(
        'rejects binaryVersion %j',
        (binaryVersion) => {
          expect(pathsOf({ binaryVersion, emulationVersion: '', strategy: 'foo.com/bar' })).toEqual([
            'spec.binaryVersion',
          ]);
        },
      );

      it.each(['', undefined])('binaryVersion is required (%j)', (binaryVersion) => {
        expect(pathsOf({ binaryVersion })).toContain('spec.binaryVersion');
      });

      it.each(['v1.2.3', '1.2', 'x'])(
        'rejects emulationVersion %j, once: malformed, not also missing',
        (emulationVersion) => {
          expect(pathsOf({ binaryVersion: '1.33.0', emulationVersion })).toEqual(['spec.emulationVersion']);
        },
      );

      it('accepts binaryVersion equal to emulationVersion', () => {
        expect(pathsOf({ binaryVersion: '1.33.0', emulationVersion: '1.33.0' })).toEqual([]);
      });

      it.each([
        ['1.32.0', '1.33.0'],
        ['1.2.0', '1.19.0'],
        ['1.33.0-rc.1', '1.33.0'],
      ])('rejects binaryVersion %s below emulationVersion %s', (binaryVersion, emulationVersion) => {
        expect(pathsOf({ binaryVersion, emulationVersion })).toEqual(['spec.binaryVersion']);
      });

      it.each([
        ['missing', undefined],
        ['empty', ''],
        ['0.0.0', '0.0.0'],
      ])('OldestEmulationVersion needs an emulationVersion (%s)', (_, emulationVersion) => {
        expect(pathsOf({ emulationVersion })).toEqual(['spec.emulationVersion']);
      });

      it('a third-party strategy needs no emulationVersion', () => {
        const parsed = parse({ emulationVersion: undefined, strategy: 'foo.com/bar' });
        expect(parsed.emulationVersion).toBe('');
        expect(parsed.strategy).toBe('foo.com/bar');
      });
    });

    describe('spec.strategy', () => {
      it.each([
        'OldestEmulationVersion',
        'foo.com/bar',
        'example.com/MyStrategy',
        'a/b',
        'x.io/a_b.c-d',
        `foo.com/${'a'.repeat(63)}`,
      ])('accepts %j', (strategy) => {
        expect(pathsOf({ strategy })).toEqual([]);
      });

      it.each([
        'Foo',
        'oldestemulationversion',
        'a/b/c',
        'foo.com/',
        '/bar',
        'Foo.com/bar',
        'foo_com/bar',
        'foo.com/-bar',
        'foo.com/bar-',
        `foo.com/${'a'.repeat(64)}`,
      ])('rejects %j', (strategy) => {
        expect(pathsOf({ strategy })).toEqual(['spec.strategy']);
      });

      it('is required', () => {
        expect(pathsOf({ strategy: undefined })).toEqual(['spec.strategy']);
        expect(new Set(pathsOf({ strategy: '' }))).toEqual(new Set(['spec.strategy']));
      });
    });

    it('rejects malformed times', () => {
      expect(pathsOf({ renewTime: '2026-07-01 12:00:00' })).toEqual(['spec.renewTime']);
      expect(pathsOf({ pingTime: 'yesterday' })).toEqual(['spec.pingTime']);
    });

    it('reports every bad field at once', () => {
      expect(pathsOf({ leaseName: '', binaryVersion: 'v1', strategy: 'Foo' }, { name: '..' }).sort()).toEqual(
        expect.arrayContaining(['metadata.name', 'spec.binaryVersion', 'spec.leaseName', 'spec.strategy']),
      );
    });
  });

  describe('parseLeaseCandidate coordination.k8s.io/v1alpha1', () => {
    const V1ALPHA1 = 'coordination.k8s.io/v1alpha1';
    const parse = (spec: Obj = {}) => parseLeaseCandidate(leaseCandidate(V1ALPHA1, spec));
    const pathsOf = (spec: Obj = {}) => issuePaths(() => parse(spec));

    it('accepts a valid object; its strategy is the first preferred one', () => {
      const parsed = parse({ preferredStrategies: ['OldestEmulationVersion', 'foo.com/bar'] });
      expect(parsed).toMatchObject({
        apiVersion: 'v1alpha1',
        binaryVersion: '1.31.2',
        emulationVersion: '1.31.0',
        strategy: 'OldestEmulationVersion',
        preferredStrategies: ['OldestEmulationVersion', 'foo.com/bar'],
      });
    });

    it('versions are optional without OldestEmulationVersion', () => {
      const parsed = parse({
        binaryVersion: undefined,
        emulationVersion: undefined,
        preferredStrategies: ['foo.com/bar'],
      });
      expect(parsed.binaryVersion).toBe('');
      expect(parsed.emulationVersion).toBe('');
      expect(parsed.strategy).toBe('foo.com/bar');
    });

    it('OldestEmulationVersion anywhere in the list needs both versions', () => {
      const preferredStrategies = ['foo.com/bar', 'OldestEmulationVersion'];
      expect(pathsOf({ preferredStrategies, binaryVersion: undefined })).toEqual(['spec.binaryVersion']);
      expect(pathsOf({ preferredStrategies, emulationVersion: undefined })).toEqual([
        'spec.emulationVersion',
      ]);
      expect(pathsOf({ preferredStrategies, emulationVersion: '0.0.0' })).toEqual(['spec.emulationVersion']);
    });

    it('checks versions strictly and binary >= emulation', () => {
      expect(pathsOf({ binaryVersion: 'v1.31.0' })).toContain('spec.binaryVersion');
      expect(pathsOf({ emulationVersion: '1.31' })).toEqual(['spec.emulationVersion']);
      expect(pathsOf({ binaryVersion: '1.30.0', emulationVersion: '1.31.0' })).toEqual([
        'spec.binaryVersion',
      ]);
    });

    it('needs at least one preferred strategy', () => {
      expect(pathsOf({ preferredStrategies: [] })).toEqual(['spec.preferredStrategies']);
      expect(pathsOf({ preferredStrategies: undefined })).toEqual(['spec.preferredStrategies']);
    });

    it('reads at most MAX_PREFERRED_STRATEGIES, which the table stores', () => {
      const strategies = (n: number) => Array.from({ length: n }, (_, i) => `example.com/S${i}`);
      expect(
        parse({ preferredStrategies: strategies(MAX_PREFERRED_STRATEGIES) }).preferredStrategies,
      ).toEqual(strategies(MAX_PREFERRED_STRATEGIES));
      expect(pathsOf({ preferredStrategies: strategies(MAX_PREFERRED_STRATEGIES + 1) })).toEqual([
        'spec.preferredStrategies',
      ]);
    });

    it('checks every preferred strategy with the strategy name rule', () => {
      expect(pathsOf({ preferredStrategies: ['OldestEmulationVersion', 'Foo', 'a/b/c'] })).toEqual([
        'spec.preferredStrategies[1]',
        'spec.preferredStrategies[2]',
      ]);
    });

    it('a v1alpha1 object with a single `strategy` field and no list is rejected', () => {
      expect(pathsOf({ preferredStrategies: undefined, strategy: 'OldestEmulationVersion' })).toEqual([
        'spec.preferredStrategies',
      ]);
    });
  });

  describe('parseLeaseCandidate envelope', () => {
    it('rejects an unknown API version', () => {
      expect(issuePaths(() => parseLeaseCandidate(leaseCandidate('coordination.k8s.io/v1')))).toEqual([
        'apiVersion',
      ]);
    });

    it('rejects another kind', () => {
      const obj = { ...leaseCandidate('coordination.k8s.io/v1beta1'), kind: 'Lease' };
      expect(issuePaths(() => parseLeaseCandidate(obj))).toEqual(['kind']);
    });

    it.each([null, 'LeaseCandidate', 42, []])('rejects a non-object %j with a ValidationError', (input) => {
      expect(() => parseLeaseCandidate(input)).toThrow(ValidationError);
    });

    it.each(SINGLE_STRATEGY_VERSIONS)('%s: a stray preferredStrategies never replaces spec.strategy', (v) => {
      for (const preferredStrategies of [['foo.com/bar'], [42, 'Foo'], 'x']) {
        const parsed = parseLeaseCandidate(leaseCandidate(v, { preferredStrategies }));
        expect(parsed.strategy).toBe('OldestEmulationVersion');
        expect(parsed.preferredStrategies).toBeUndefined();
      }
    });
  });

  describe('parseLease', () => {
    it('reads a Lease written by a coordinated holder', () => {
      const parsed = parseLease(
        lease(
          {
            holderIdentity: 'node-1_abc',
            leaseDurationSeconds: 15,
            acquireTime: null,
            renewTime: RENEW,
            leaseTransitions: 0,
            strategy: 'OldestEmulationVersion',
          },
          { [TERM_ANNOTATION]: '12' },
        ),
      );
      expect(parsed).toEqual({
        namespace: 'kube-system',
        name: 'kube-scheduler',
        record: {
          holderIdentity: 'node-1_abc',
          leaseDurationSeconds: 15,
          renewTime: Date.parse(RENEW),
          leaseTransitions: 0,
          strategy: 'OldestEmulationVersion',
          term: 12,
        },
      });
    });

    it('keeps a released holder "" apart from nil, and reads an empty spec', () => {
      expect(parseLease(lease({ holderIdentity: '', leaseDurationSeconds: 1 })).record.holderIdentity).toBe(
        '',
      );
      expect(parseLease({ ...lease(), spec: undefined }).record).toEqual({ term: 0 });
    });

    it.each([0, -1, 1.5])('rejects leaseDurationSeconds %j', (leaseDurationSeconds) => {
      expect(issuePaths(() => parseLease(lease({ leaseDurationSeconds })))).toEqual([
        'spec.leaseDurationSeconds',
      ]);
    });

    it('accepts leaseDurationSeconds 1 and null', () => {
      expect(parseLease(lease({ leaseDurationSeconds: 1 })).record.leaseDurationSeconds).toBe(1);
      expect(parseLease(lease({ leaseDurationSeconds: null })).record.leaseDurationSeconds).toBeUndefined();
    });

    it('rejects negative leaseTransitions and accepts 0', () => {
      expect(issuePaths(() => parseLease(lease({ leaseTransitions: -1 })))).toEqual([
        'spec.leaseTransitions',
      ]);
      expect(parseLease(lease({ leaseTransitions: 0 })).record.leaseTransitions).toBe(0);
    });

    it('preferredHolder needs a strategy', () => {
      expect(issuePaths(() => parseLease(lease({ preferredHolder: 'c2' })))).toEqual([
        'spec.preferredHolder',
      ]);
      // An empty strategy is itself invalid; that is the error reported.
      expect(issuePaths(() => parseLease(lease({ preferredHolder: 'c2', strategy: '' })))).toEqual([
        'spec.strategy',
      ]);
      const ok = parseLease(lease({ preferredHolder: 'c2', strategy: 'OldestEmulationVersion' }));
      expect(ok.record.preferredHolder).toBe('c2');
    });

    it('bounds holderIdentity and preferredHolder, which the table stores, at MAX_IDENTITY_LENGTH', () => {
      const longest = 'h'.repeat(MAX_IDENTITY_LENGTH);
      const strategy = 'OldestEmulationVersion';
      expect(parseLease(lease({ holderIdentity: longest })).record.holderIdentity).toBe(longest);
      expect(parseLease(lease({ preferredHolder: longest, strategy })).record.preferredHolder).toBe(longest);
      expect(issuePaths(() => parseLease(lease({ holderIdentity: `${longest}h` })))).toEqual([
        'spec.holderIdentity',
      ]);
      expect(issuePaths(() => parseLease(lease({ preferredHolder: `${longest}h`, strategy })))).toEqual([
        'spec.preferredHolder',
      ]);
    });

    it('an empty preferredHolder needs no strategy and reads as unset', () => {
      expect(parseLease(lease({ preferredHolder: '' })).record.preferredHolder).toBeUndefined();
    });

    it('applies the strategy name rule to spec.strategy', () => {
      expect(issuePaths(() => parseLease(lease({ strategy: 'Foo' })))).toEqual(['spec.strategy']);
      expect(issuePaths(() => parseLease(lease({ strategy: 'a/b/c' })))).toEqual(['spec.strategy']);
      expect(parseLease(lease({ strategy: 'foo.com/bar' })).record.strategy).toBe('foo.com/bar');
    });

    it('reads the term annotation, 0 when absent', () => {
      expect(parseLease(lease({}, { [TERM_ANNOTATION]: '0' })).record.term).toBe(0);
      expect(parseLease(lease({}, { [TERM_ANNOTATION]: '123456789012345' })).record.term).toBe(
        123456789012345,
      );
      expect(parseLease(lease({}, { other: 'x' })).record.term).toBe(0);
      expect(parseLease(lease()).record.term).toBe(0);
    });

    it.each(['-1', 'abc', '01', '1.5', '', ' 1', '1234567890123456'])(
      'rejects term annotation %j',
      (term) => {
        expect(issuePaths(() => parseLease(lease({}, { [TERM_ANNOTATION]: term })))).toEqual([
          'metadata.annotations',
        ]);
      },
    );

    it('rejects a Lease name that is not a DNS subdomain, and other kinds', () => {
      const bad = { ...lease(), metadata: { name: 'Kube_Scheduler' } };
      expect(issuePaths(() => parseLease(bad))).toEqual(['metadata.name']);
      expect(issuePaths(() => parseLease({ ...lease(), kind: 'LeaseCandidate' }))).toEqual(['kind']);
      expect(issuePaths(() => parseLease({ ...lease(), apiVersion: 'coordination.k8s.io/v1beta1' }))).toEqual(
        ['apiVersion'],
      );
    });

    it('toLeaseObject and parseLease round-trip a record', () => {
      const record: LeaseRecord = {
        holderIdentity: 'c1',
        leaseDurationSeconds: 5,
        acquireTime: Date.parse('2026-07-01T11:00:00.5Z'),
        renewTime: Date.parse(RENEW.replace('123456', '123000')),
        leaseTransitions: 0,
        strategy: 'OldestEmulationVersion',
        preferredHolder: 'c2',
        term: 9,
      };
      const object = toLeaseObject({ namespace: 'kube-system', name: 'kube-scheduler' }, record);
      expect(object.metadata.annotations[TERM_ANNOTATION]).toBe('9');
      expect(object.spec.renewTime).toBe('2026-07-01T12:00:00.123000Z');
      expect(parseLease(object).record).toEqual(record);
    });

    it('toLeaseObject writes a released holder as "" and leaves unset fields out', () => {
      const object = toLeaseObject({ namespace: 'ns', name: 'l' }, { holderIdentity: '', term: 3 });
      expect(object.spec).toEqual({ holderIdentity: '' });
      expect(parseLease(object).record).toEqual({ holderIdentity: '', term: 3 });
    });
  });
});
