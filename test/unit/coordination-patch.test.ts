import { applyPatch, type Operation } from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { PREFERRED_HOLDER_ANNOTATION, TERM_ANNOTATION } from '../../lib/api/lease.js';
import { coordinationPatch } from '../../lib/sync/desired-lease.js';

const TERM_PATH = '/metadata/annotations/lease-coordinator.dev~1term';

describe('coordinationPatch (unit: pure)', () => {
  it('guards the holder and the term read, then sets what the coordinator owns', () => {
    const ops = coordinationPatch(
      { metadata: { annotations: { [TERM_ANNOTATION]: '3' } }, spec: { holderIdentity: 'a' } },
      {
        spec: { holderIdentity: 'a', strategy: 'OldestEmulationVersion', preferredHolder: 'b' },
        term: 3,
        preferredHolder: 'b',
      },
    );
    expect(ops).toEqual([
      { op: 'test', path: '/spec/holderIdentity', value: 'a' },
      { op: 'test', path: TERM_PATH, value: '3' },
      { op: 'add', path: TERM_PATH, value: '3' },
      // Kept where a gate-off apiserver drops spec.preferredHolder.
      { op: 'add', path: '/metadata/annotations/lease-coordinator.dev~1preferred-holder', value: 'b' },
      { op: 'add', path: '/spec/strategy', value: 'OldestEmulationVersion' },
      { op: 'add', path: '/spec/preferredHolder', value: 'b' },
    ]);
  });

  it('adds the annotations map when the Lease has none, and removes a preferredHolder the decision cleared', () => {
    const ops = coordinationPatch(
      { spec: { holderIdentity: 'a', preferredHolder: 'b' } },
      { spec: { holderIdentity: 'a', strategy: 'OldestEmulationVersion' }, term: 1 },
    );
    expect(ops).toContainEqual({
      op: 'add',
      path: '/metadata/annotations',
      value: { [TERM_ANNOTATION]: '1' },
    });
    expect(ops).toContainEqual({ op: 'remove', path: '/spec/preferredHolder' });
  });

  it('gives no patch for a Lease without a holder to guard', () => {
    expect(coordinationPatch({ spec: {} }, { spec: {}, term: 1 })).toBeUndefined();
    expect(coordinationPatch({ spec: { holderIdentity: '' } }, { spec: {}, term: 1 })).toBeUndefined();
  });

  it('tests what it removes: another pass that removed it meanwhile makes a conflict, not a malformed patch', () => {
    // Found by the concurrency model: two mirror passes took back the same preference.
    const read = {
      metadata: { annotations: { [TERM_ANNOTATION]: '1', [PREFERRED_HOLDER_ANNOTATION]: 'b' } },
      spec: { holderIdentity: 'a', preferredHolder: 'b' },
    };
    const ops = coordinationPatch(read, { spec: { holderIdentity: 'a' }, term: 1 }) as Operation[];
    const meanwhile = {
      metadata: { annotations: { [TERM_ANNOTATION]: '1' } },
      spec: { holderIdentity: 'a' },
    };
    expect(() => applyPatch(structuredClone(meanwhile), ops, true, false)).toThrow(
      expect.objectContaining({ name: 'TEST_OPERATION_FAILED' }),
    );
    expect(applyPatch(structuredClone(read), ops, true, false).newDocument).toEqual(meanwhile);
  });
});
