import { describe, expect, it } from 'vitest';
import { parseLease, TERM_ANNOTATION } from '../../lib/api/lease.js';
import { ValidationError } from '../../lib/errors.js';
import { viewOf } from '../../lib/sync/desired-lease.js';

/** A Lease a cluster could show, with our term annotation as `term` reads. */
function lease(term: string) {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'demo', namespace: 'kube-system', annotations: { [TERM_ANNOTATION]: term } },
    spec: { holderIdentity: 'a', leaseDurationSeconds: 15 },
  };
}

describe('the term annotation (unit: pure)', () => {
  it.each([
    ['0', 0],
    ['7', 7],
    ['123456789012345', 123456789012345],
  ])('reads "%s" as term %d, in the ingest parser and in the mirror view alike', (text, term) => {
    expect(parseLease(lease(text)).record.term).toBe(term);
    expect(viewOf(lease(text)).term).toBe(term);
  });

  it.each(['007', '-1', '+7', '7.0', ' 7', '', '1234567890123456'])(
    'refuses "%s" in both: the ingest parser names the annotation, the mirror view shows no term',
    (text) => {
      expect(() => parseLease(lease(text))).toThrow(ValidationError);
      expect(() => parseLease(lease(text))).toThrow(TERM_ANNOTATION);
      expect(viewOf(lease(text)).term).toBeUndefined();
    },
  );
});
