import { describe, expect, it } from 'vitest';
import { FIELD_MANAGER, renewTimeWrittenByUs } from '../../lib/api/managed-fields.js';
import { formatMicroTime } from '../../lib/api/time.js';
import { copyOfReleasedHolding } from '../../lib/coordinator/foreign-holding.js';
import type { StoredLease } from '../../lib/ports/store.js';
import { revokeStamp } from '../../lib/sync/mirror-options.js';

/** An Update entry of metadata.managedFields, as the apiserver writes one. */
function entry(manager: string, spec: Record<string, unknown>) {
  return {
    manager,
    operation: 'Update',
    apiVersion: 'coordination.k8s.io/v1',
    time: '2026-12-06T12:00:00Z',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:metadata': { 'f:annotations': {} }, 'f:spec': spec },
  };
}

describe('who last changed a Lease’s renewTime, from its managedFields (unit)', () => {
  it('is us where our field manager owns spec.renewTime', () => {
    const metadata = {
      managedFields: [
        entry('kube-scheduler', { 'f:holderIdentity': {}, 'f:leaseDurationSeconds': {} }),
        entry(FIELD_MANAGER, { 'f:renewTime': {}, 'f:preferredHolder': {} }),
      ],
    };
    expect(renewTimeWrittenByUs(metadata)).toBe(true);
  });

  it('is another where any other manager owns it, whatever else we own', () => {
    const metadata = {
      managedFields: [
        entry(FIELD_MANAGER, { 'f:holderIdentity': {}, 'f:strategy': {} }),
        entry('kube-scheduler', { 'f:renewTime': {}, 'f:acquireTime': {} }),
      ],
    };
    expect(renewTimeWrittenByUs(metadata)).toBe(false);
  });

  it('does not say where managedFields are missing, name no renewTime, or are not what the apiserver writes', () => {
    expect(renewTimeWrittenByUs(undefined)).toBeUndefined();
    expect(renewTimeWrittenByUs({})).toBeUndefined();
    expect(
      renewTimeWrittenByUs({ managedFields: [entry(FIELD_MANAGER, { 'f:holderIdentity': {} })] }),
    ).toBeUndefined();
    expect(renewTimeWrittenByUs({ managedFields: 'lease-coordinator' })).toBeUndefined();
    // A write that named no manager and sent no User-Agent (our versions before managedFields were read).
    const { manager: _none, ...unnamed } = entry('', { 'f:renewTime': {} });
    expect(renewTimeWrittenByUs({ managedFields: [unnamed] })).toBeUndefined();
    expect(renewTimeWrittenByUs({ managedFields: [entry('', { 'f:renewTime': {} })] })).toBeUndefined();
    expect(
      renewTimeWrittenByUs({ managedFields: [entry('unknown', { 'f:renewTime': {} })] }),
    ).toBeUndefined();
    expect(renewTimeWrittenByUs({ managedFields: [{ manager: 7, fieldsV1: {} }] })).toBeUndefined();
    expect(
      renewTimeWrittenByUs({
        managedFields: [{ manager: FIELD_MANAGER, fieldsV1: { 'f:spec': 'f:renewTime' } }],
      }),
    ).toBeUndefined();
  });
});

describe('what the coordinator reads into a renewTime we wrote (unit: pure)', () => {
  const decidedAt = Date.UTC(2026, 11, 6, 12, 0, 0);
  const stored: StoredLease = {
    version: 4,
    record: {
      term: 2,
      holderIdentity: 'a',
      holderCluster: 'c',
      leaseDurationSeconds: 15,
      renewTime: decidedAt + 4_000,
    },
    observedRenewTime: decidedAt + 3_990,
  };

  it('a revoke over a stamp of ours is stamped when the Lease was read, even where this process saw that stamp first', () => {
    const answered = decidedAt + 6_000;
    const ours = { holderIdentity: 'a', renewTime: formatMicroTime(decidedAt + 5_000) };
    const sawAt = decidedAt + 5_400;
    const sightings = (holder: string, renewTime: number) =>
      holder === 'a' && renewTime === decidedAt + 5_000 ? sawAt : undefined;
    // Ours, after the renewal last observed: no renewal of the holder's, so the read.
    expect(revokeStamp(stored, { ...ours, renewTimeOurs: true }, answered, sightings)).toBe(answered);
    // The same stamp written by the holder is its renewal, dated at this process's first sighting of it.
    expect(revokeStamp(stored, { ...ours, renewTimeOurs: false }, answered, sightings)).toBe(sawAt);
  });
});

describe('our copy of a released holding, told by managedFields (unit: pure)', () => {
  const record = { term: 3, holderIdentity: '', releasedHolder: 'a', renewTime: 1_000 };
  const copy = { holderIdentity: 'a', term: 3, renewTime: 900 };

  it('is ours only where no other manager set its renewTime: the releasing holder taking it again set it itself', () => {
    expect(copyOfReleasedHolding({ ...copy, renewTimeOurs: true }, record)).toBe(true);
    expect(copyOfReleasedHolding(copy, record)).toBe(true);
    expect(copyOfReleasedHolding({ ...copy, renewTimeOurs: false }, record)).toBe(false);
  });
});
