import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { FENCED_HOLDER, parseLease, TERM_ANNOTATION } from '../../lib/api/lease.js';
import { fenceHolder } from '../../lib/coordinator/fence-holder.js';
import type { HolderLeaseFencing } from '../../lib/ports/cluster.js';
import type { CoordinatorDeps } from '../../lib/ports/coordinator.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import type { StoredLease } from '../../lib/ports/store.js';
import { planMirror, viewOf } from '../../lib/sync/desired-lease.js';

/** The holder's Lease as a takeover's fence leaves it (holderLeaseFence): our placeholder, under term 3. */
const fenced = {
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name: 'demo', namespace: 'kube-system', annotations: { [TERM_ANNOTATION]: '3' } },
  spec: {
    holderIdentity: FENCED_HOLDER,
    leaseDurationSeconds: 15,
    renewTime: '2026-12-05T02:00:00.000000Z',
  },
};

describe('our fence on a holder’s Lease (unit: pure)', () => {
  it('reads as no holder, as the holder’s release does, in the ingest parser and in the mirror view alike', () => {
    expect(parseLease(fenced).record.holderIdentity).toBe('');
    expect(viewOf(fenced).holderIdentity).toBe('');
  });

  it('is left alone by a mirror pass of the decision it fenced: the holder is not written back', () => {
    const record = { term: 3, holderIdentity: 'old', leaseDurationSeconds: 15 };
    expect(planMirror(record, true, viewOf(fenced))).toEqual({ write: false, reason: 'released' });
  });

  it('is written over by the holder when the record shows it renewing after the fence (the takeover lost its write)', () => {
    const fencedAt = Date.parse(fenced.spec.renewTime);
    const renewed = { term: 3, holderIdentity: 'old', leaseDurationSeconds: 15, renewTime: fencedAt };
    const plan = planMirror(renewed, true, viewOf(fenced));
    expect(plan.write && plan.spec.holderIdentity).toBe('old');
    const before = { ...renewed, renewTime: fencedAt - 1 };
    expect(planMirror(before, true, viewOf(fenced))).toEqual({ write: false, reason: 'released' });
  });

  it('is written over by the decision that names the successor under a new term', () => {
    const record = { term: 4, holderIdentity: 'next', leaseDurationSeconds: 15 };
    const plan = planMirror(record, true, viewOf(fenced));
    expect(plan.write && plan.spec.holderIdentity).toBe('next');
  });
});

describe('the fence’s lease duration (unit: a recording fence)', () => {
  it('is the longer of the record’s and the Lease’s, so a record that lags the holder does not shorten a legacy elector’s wait', async () => {
    const fencings: HolderLeaseFencing[] = [];
    const deps = {
      clock: () => 1_000_000,
      logger: new Logger({ logLevel: 'SILENT' }),
      fenceHolderLease: async (_cluster: string, _key: LeaseKey, fencing: HolderLeaseFencing) => {
        fencings.push(fencing);
        return true;
      },
    } as unknown as CoordinatorDeps;
    const key = { scope: 'b', namespace: 'default', name: 'demo' };
    // The decision's default duration on record; the holder renews with client-go's 15 s.
    const stored = {
      version: 3,
      record: { term: 2, holderIdentity: 'old', holderCluster: 'b', leaseDurationSeconds: 5 },
    } as StoredLease;
    const seen = {
      cluster: 'b',
      resourceVersion: '7',
      holderIdentity: 'old',
      leaseDurationSeconds: 15,
      renewTime: 1,
    };
    await fenceHolder(deps, key, stored, { cluster: 'b', seen }, 'next');
    expect(fencings.map((f) => (f.revoke === true ? 'touched' : f.leaseDurationSeconds))).toEqual([15]);
  });
});
