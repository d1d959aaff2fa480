import { describe, expect, it } from 'vitest';
import { TERM_ANNOTATION } from '../../lib/api/lease.js';
import { formatMicroTime } from '../../lib/api/time.js';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { seenHoldingTerm } from '../../lib/election/terms.js';
import { holderLeaseReader } from '../../lib/sync/holder-lease-reader.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { singleCluster } from '../helpers/single-cluster.js';
import { twoClusters } from '../helpers/two-clusters.js';

/** A Lease as a holder (or our mirror, with `term`) left it in a cluster. */
function leaseObject(
  key: { namespace: string; name: string },
  holder: string,
  renewTime: number,
  term?: number,
) {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      namespace: key.namespace,
      name: key.name,
      ...(term !== undefined && { annotations: { [TERM_ANNOTATION]: String(term) } }),
    },
    spec: { holderIdentity: holder, leaseDurationSeconds: 15, renewTime: formatMicroTime(renewTime) },
  };
}

const termOf = (lease: { metadata?: { annotations?: Record<string, string> } } | undefined) =>
  lease?.metadata?.annotations?.[TERM_ANNOTATION];

/**
 * One election step, deciding as the deployed coordinator does with clusters (it can read their
 * Leases), and its mirror pass: what the table and the cluster's Lease then show.
 */
async function stepAndMirror({ deps, key, store, cluster }: ReturnType<typeof singleCluster>) {
  await reconcileLease({ ...deps, readHolderLease: holderLeaseReader(deps.clusters) }, key);
  await mirrorLease(deps, key);
  const lease = cluster.get('Lease', key);
  return { record: (await store.loadLease(key)).lease?.record, spec: lease?.spec, term: termOf(lease) };
}

describe('seenHoldingTerm (unit: pure)', () => {
  it.each([
    // recorded, holder, shown on this Lease, highest shown anywhere → term to record
    { recorded: 0, holder: 'legacy', shown: undefined, highest: undefined, term: 1 },
    { recorded: 0, holder: '', shown: undefined, highest: undefined, term: 0 },
    { recorded: 3, holder: 'legacy', shown: 3, highest: undefined, term: 4 },
    { recorded: 3, holder: '', shown: 3, highest: undefined, term: 3 },
    { recorded: 0, holder: 'h', shown: 7, highest: undefined, term: 7 },
    { recorded: 5, holder: 'h', shown: 7, highest: 7, term: 7 },
    { recorded: 0, holder: '', shown: 7, highest: 7, term: 7 },
    { recorded: 0, holder: 'legacy', shown: undefined, highest: 7, term: 8 },
    { recorded: 0, holder: 'h', shown: 4, highest: 7, term: 8 },
    { recorded: 9, holder: 'h', shown: 7, highest: 7, term: 10 },
  ])('recorded $recorded, holder "$holder" shown under $shown (highest $highest): term $term', (c) => {
    expect(
      seenHoldingTerm(c.recorded, { holder: c.holder, shownTerm: c.shown, highestShownTerm: c.highest }),
    ).toBe(c.term);
  });

  it('never returns less than any term it was shown, and gives a new holder more than the record', () => {
    for (let recorded = 0; recorded < 6; recorded++)
      for (const shown of [undefined, 0, 2, 5, 8])
        for (const highest of [undefined, 0, 3, 8])
          for (const holder of ['', 'h']) {
            const term = seenHoldingTerm(recorded, { holder, shownTerm: shown, highestShownTerm: highest });
            expect(term).toBeGreaterThanOrEqual(Math.max(recorded, shown ?? 0, highest ?? 0));
            if (holder !== '' && (shown ?? 0) <= recorded) expect(term).toBeGreaterThan(recorded);
          }
  });
});

describe('a Lease carrying a term of ours that the table does not know (unit: in-memory fakes)', () => {
  it('a table recreated under a held Lease: the holder keeps its term and the next decision goes above it', async () => {
    const fixture = singleCluster();
    const { deps, key, cluster, heartbeat, clock } = fixture;
    // Left by an earlier table: "old" leads under term 7.
    cluster.create('Lease', leaseObject(key, 'old', clock(), 7), 'old');

    await heartbeat('old', '1.31.0');
    await heartbeat('next', '1.30.0');
    const preempted = await stepAndMirror(fixture);

    expect(preempted.record).toMatchObject({ holderIdentity: 'old', term: 7, preferredHolder: 'next' });
    // Reached the cluster: before, the record started at term 1 and the mirror refused to lower 7.
    expect(preempted.spec).toMatchObject({ holderIdentity: 'old', preferredHolder: 'next' });

    cluster.releaseLease(key, 'old');
    await ingestLease(deps, 'c', cluster.get('Lease', key) ?? {});
    await heartbeat('next', '1.30.0');
    const handedOver = await stepAndMirror(fixture);

    expect(handedOver.record).toMatchObject({ holderIdentity: 'next', term: 8 });
    expect(handedOver.spec).toMatchObject({ holderIdentity: 'next' });
    expect(handedOver.term).toBe('8');
  });

  it('a table recreated under an empty Lease: the first decision is one above its term, and is mirrored', async () => {
    const fixture = singleCluster();
    fixture.cluster.create('Lease', leaseObject(fixture.key, '', fixture.clock(), 7), 'old');

    await fixture.heartbeat('next', '1.30.0');
    const decided = await stepAndMirror(fixture);

    expect(decided.record).toMatchObject({ holderIdentity: 'next', term: 8 });
    expect(decided.spec).toMatchObject({ holderIdentity: 'next' });
    expect(decided.term).toBe('8');
  });

  it('a table restored from a backup: a Lease under a newer term is news, not drift to undo', async () => {
    const fixture = singleCluster();
    const { deps, key, cluster, store, heartbeat, clock } = fixture;
    await heartbeat('old', '1.30.0');
    await heartbeat('other', '1.31.0');
    expect((await stepAndMirror(fixture)).record).toMatchObject({ holderIdentity: 'old', term: 1 });

    // After the backup was taken, "other" was elected under term 5 and leads; the restore lost that.
    cluster.replace('Lease', leaseObject(key, 'other', clock(), 5), 'other');
    const outcome = await ingestLease(deps, 'c', cluster.get('Lease', key) ?? {});

    expect(outcome.outcome).toBe('observed');
    expect((await store.loadLease(key)).lease?.record).toMatchObject({ holderIdentity: 'other', term: 5 });
    await mirrorLease(deps, key);
    expect(cluster.get('Lease', key)?.spec).toMatchObject({ holderIdentity: 'other' });
    expect(termOf(cluster.get('Lease', key))).toBe('5');
  });
});

describe('the first candidate of a lease group whose Lease a legacy elector holds in another cluster (unit: in-memory fakes)', () => {
  it('records that holder first, so the candidate is only preferred, in both clusters', async () => {
    const { deps, planes, store, keyOf, heartbeat } = twoClusters();
    const key = keyOf('kube-scheduler');
    // Cluster "b" had its own legacy election before joining the group; "a" has no Lease yet.
    planes.b.create('Lease', leaseObject(key, 'legacy-b', planes.b.localNow()), 'legacy-b');

    expect((await heartbeat('a', key, 'coordinated-a', '1.34.0')).outcome).toBe('stored');
    await reconcileLease(deps, key);
    await mirrorLease(deps, key);

    expect((await store.loadLease(key)).lease?.record).toMatchObject({
      holderIdentity: 'legacy-b',
      holderCluster: 'b',
      preferredHolder: 'coordinated-a',
    });
    expect(planes.b.get('Lease', key)?.spec).toMatchObject({
      holderIdentity: 'legacy-b',
      preferredHolder: 'coordinated-a',
    });
    expect(planes.a.get('Lease', key)?.spec).toMatchObject({ holderIdentity: 'legacy-b' });
  });

  it('starts above the highest term any cluster of the group shows', async () => {
    const { deps, planes, store, keyOf, heartbeat } = twoClusters();
    const key = keyOf('kube-scheduler');
    planes.a.create('Lease', leaseObject(key, '', planes.a.localNow(), 4), 'gone');
    planes.b.create('Lease', leaseObject(key, '', planes.b.localNow(), 9), 'gone');

    await heartbeat('a', key, 'coordinated-a', '1.34.0');
    await reconcileLease(deps, key);
    await mirrorLease(deps, key);

    expect((await store.loadLease(key)).lease?.record).toMatchObject({
      holderIdentity: 'coordinated-a',
      term: 10,
    });
    expect(termOf(planes.a.get('Lease', key))).toBe('10');
    expect(termOf(planes.b.get('Lease', key))).toBe('10');
  });
});
