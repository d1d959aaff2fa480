import { describe, expect, it } from 'vitest';
import { FENCED_HOLDER, parseLease, TERM_ANNOTATION } from '../../lib/api/lease.js';
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

  it('is written over by the decision that names the successor under a new term', () => {
    const record = { term: 4, holderIdentity: 'next', leaseDurationSeconds: 15 };
    const plan = planMirror(record, true, viewOf(fenced));
    expect(plan.write && plan.spec.holderIdentity).toBe('next');
  });
});
