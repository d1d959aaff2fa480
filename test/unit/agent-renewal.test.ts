import { describe, expect, it } from 'vitest';
import { BUILTIN_GROUP, CRD_API, chooseCandidateApi } from '../../lib/agent/candidate-api.js';
import type { CandidateSpec } from '../../lib/agent/options.js';
import { decide, observe } from '../../lib/agent/renewal.js';
import { formatMicroTime } from '../../lib/api/time.js';
import { CandidateApiNotServedError } from '../../lib/errors.js';

/** The agent's renewal decision (pure: the object it last saw, its flags and `now`), and its API choice. */

const NOW = Date.UTC(2026, 6, 1, 12, 0, 0);
const PERIOD = 300_000;
const DESIRED: CandidateSpec = {
  namespace: 'default',
  identity: 'elector-0',
  leaseName: 'demo',
  binaryVersion: '1.31.0',
  emulationVersion: '1.30.0',
  strategy: 'OldestEmulationVersion',
};

function object(spec: Record<string, unknown> = {}, resourceVersion = '7') {
  return {
    apiVersion: 'coordination.lease-coordinator.dev/v1',
    kind: 'LeaseCandidate',
    metadata: { name: 'elector-0', namespace: 'default', resourceVersion },
    spec: {
      leaseName: 'demo',
      binaryVersion: '1.31.0',
      emulationVersion: '1.30.0',
      strategy: 'OldestEmulationVersion',
      ...spec,
    },
  };
}

const at = (millis: number) => formatMicroTime(millis);
const decideOn = (raw: unknown, now = NOW) => decide(observe(raw), DESIRED, now, PERIOD);

describe('agent renewal decision', () => {
  it('creates the object when it is missing', () => {
    expect(decideOn(undefined)).toEqual({ action: 'create' });
  });

  it('waits a period after its last renewal, then renews', () => {
    const renewed = NOW - 10_000;
    expect(decideOn(object({ renewTime: at(renewed) }))).toEqual({ action: 'wait', until: renewed + PERIOD });
    expect(decideOn(object({ renewTime: at(renewed) }), renewed + PERIOD)).toEqual({
      action: 'renew',
      reason: 'period',
    });
  });

  it('answers a ping after its last renewal at once, whatever the period says', () => {
    const raw = object({ renewTime: at(NOW - 1000), pingTime: at(NOW - 999) });
    expect(decideOn(raw)).toEqual({ action: 'renew', reason: 'ping' });
  });

  it('leaves a ping it has answered alone (pingTime not after renewTime)', () => {
    for (const pingTime of [NOW - 2000, NOW - 1000]) {
      const raw = object({ renewTime: at(NOW - 1000), pingTime: at(pingTime) });
      expect(decideOn(raw)).toEqual({ action: 'wait', until: NOW - 1000 + PERIOD });
    }
  });

  it('takes times within one millisecond as equal: both sides write whole milliseconds', () => {
    const raw = object({ renewTime: '2026-07-01T11:59:59.000001Z', pingTime: '2026-07-01T11:59:59.000002Z' });
    // Millisecond precision makes them equal: not after, so no renewal. The coordinator writes
    // whole milliseconds and the agent too, so a real ping is always at least 1 ms later.
    expect(decideOn(raw)).toEqual({ action: 'wait', until: Date.parse('2026-07-01T11:59:59Z') + PERIOD });
  });

  it('renews an object without renewTime, and one whose renewTime is ahead of its clock', () => {
    expect(decideOn(object())).toEqual({ action: 'renew', reason: 'period' });
    expect(decideOn(object({ renewTime: at(NOW + 60_000) }))).toEqual({ action: 'renew', reason: 'period' });
  });

  it('corrects versions or strategy that differ from its flags', () => {
    for (const spec of [
      { binaryVersion: '1.32.0' },
      { emulationVersion: '1.29.0' },
      { strategy: 'x.dev/Y' },
    ]) {
      expect(decideOn(object({ renewTime: at(NOW), ...spec }))).toEqual({ action: 'renew', reason: 'spec' });
    }
  });

  it('replaces an object for another lease (leaseName is immutable) and one that fails validation', () => {
    expect(decideOn(object({ renewTime: at(NOW), leaseName: 'other' }))).toEqual({
      action: 'replace',
      reason: 'lease-name',
    });
    const invalid = observe(object({ renewTime: 'yesterday' }));
    expect(invalid).toMatchObject({ kind: 'invalid', resourceVersion: '7' });
    expect(invalid.kind === 'invalid' && invalid.problem).toContain('spec.renewTime');
    expect(decide(invalid, DESIRED, NOW, PERIOD)).toEqual({ action: 'replace', reason: 'invalid' });
  });
});

describe('agent API choice', () => {
  const builtin = (...versions: string[]) => new Map([[BUILTIN_GROUP, versions]]);

  it('takes the newest built-in version the cluster serves, as the coordinator reads it first', () => {
    const both = new Map([...builtin('v1', 'v1alpha2', 'v1beta1'), [CRD_API.group, ['v1']]]);
    expect(chooseCandidateApi(both, 'auto')).toEqual({ group: BUILTIN_GROUP, version: 'v1beta1' });
    expect(chooseCandidateApi(builtin('v1', 'v1alpha2'), 'auto')).toEqual({
      group: BUILTIN_GROUP,
      version: 'v1alpha2',
    });
    expect(chooseCandidateApi(both, 'crd')).toEqual(CRD_API);
  });

  it('takes the CRD where the gate is off (coordination.k8s.io serves only Leases)', () => {
    const gateOff = new Map([...builtin('v1', 'v1alpha1'), [CRD_API.group, ['v1']]]);
    expect(chooseCandidateApi(gateOff, 'auto')).toEqual(CRD_API);
  });

  it('fails, naming the CRD to apply, when neither is served', () => {
    expect(() => chooseCandidateApi(builtin('v1'), 'auto')).toThrow(CandidateApiNotServedError);
    expect(() => chooseCandidateApi(builtin('v1'), 'auto')).toThrow(/leasecandidate-crd\.yaml/);
    expect(() => chooseCandidateApi(new Map([[CRD_API.group, ['v1']]]), 'builtin')).toThrow(
      /coordination\.k8s\.io v1beta1 or v1alpha2/,
    );
  });

  it('names --api when it forced an API the cluster does not serve, and what would work', () => {
    const gateOff = new Map([...builtin('v1'), [CRD_API.group, ['v1']]]);
    expect(() => chooseCandidateApi(gateOff, 'builtin')).toThrow(
      /^--api builtin: .*; it serves coordination\.lease-coordinator\.dev\/v1: leave --api at auto$/,
    );
    expect(() => chooseCandidateApi(builtin('v1', 'v1beta1'), 'crd')).toThrow(
      /^--api crd: .*apply infra\/kubernetes\/leasecandidate-crd\.yaml$/,
    );
  });
});
