import { describe, expect, it, vi } from 'vitest';
import { parseLease, TERM_ANNOTATION } from '../../lib/api/lease.js';
import { formatMicroTime } from '../../lib/api/time.js';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { ValidationError } from '../../lib/errors.js';
import { viewOf } from '../../lib/sync/desired-lease.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { singleCluster } from '../helpers/single-cluster.js';

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

describe('a coordinated Lease whose term annotation is no term, in ingest (unit: in-memory fakes)', () => {
  it('is ignored with a warning that names the annotation, and stores nothing', async () => {
    const { deps, key, cluster, table, heartbeat, advance, clock } = singleCluster();
    await heartbeat('a', '1.31.0');
    await reconcileLease(deps, key);
    await mirrorLease(deps, key);
    const written = cluster.get('Lease', key) ?? {};
    // Someone edits our annotation; the holder renews under it.
    advance(2_000);
    const edited = {
      ...written,
      metadata: { ...written.metadata, annotations: { [TERM_ANNOTATION]: 'latest' } },
      spec: { ...(written.spec as Record<string, unknown>), renewTime: formatMicroTime(clock()) },
    };
    const warn = vi.spyOn(deps.logger, 'warn');
    const writes = table.history.length;

    expect((await ingestLease(deps, 'c', edited)).outcome).toBe('ignored');

    expect(table.history.length).toBe(writes);
    expect(warn).toHaveBeenCalledWith(
      'ignoring an invalid Lease',
      expect.objectContaining({ cluster: 'c', reason: expect.stringContaining(TERM_ANNOTATION) }),
    );
  });
});
