import { describe, expect, it } from 'vitest';
import { ingestCandidate } from '../../lib/sync/ingest-candidate.js';
import { singleCluster } from '../helpers/single-cluster.js';

/** A LeaseCandidate "next" created in the cluster, as its ADDED watch event carries it. */
function created(fixture: ReturnType<typeof singleCluster>) {
  const { cluster, key } = fixture;
  cluster.heartbeat({
    namespace: key.namespace,
    name: 'next',
    leaseName: key.name,
    binaryVersion: '1.31.0',
    emulationVersion: '1.30.0',
    strategy: 'OldestEmulationVersion',
  });
  return cluster.get('LeaseCandidate', { namespace: key.namespace, name: 'next' }) ?? {};
}

const writes = (requests: readonly string[]) => requests.filter((r) => r.startsWith('putHeartbeat'));

describe('a candidate its cluster has just created (unit: in-memory table and cluster)', () => {
  it('is stored in one write when a watch delivers it ADDED', async () => {
    const fixture = singleCluster();
    const raw = created(fixture);

    const { outcome } = await ingestCandidate(fixture.deps, 'c', 'ADDED', raw, true);

    expect(outcome).toBe('stored');
    expect(writes(fixture.requests)).toEqual(['putHeartbeat:put']);
    const { candidates } = await fixture.store.loadLease(fixture.key);
    expect(candidates.map((c) => [c.name, c.emulationVersion])).toEqual([['next', '1.30.0']]);
  });

  it('is stored as a renewal when the ADDED event comes again after a newer heartbeat', async () => {
    const fixture = singleCluster();
    await ingestCandidate(fixture.deps, 'c', 'ADDED', created(fixture), true);
    fixture.advance(1_000);
    const renewed = created(fixture);
    fixture.requests.length = 0;

    // A replayed ADDED (a new watch from an older resourceVersion) of the renewed object.
    const { outcome } = await ingestCandidate(fixture.deps, 'c', 'ADDED', renewed, true);

    expect(outcome).toBe('stored');
    // The create is refused (the item exists), then the usual renewal goes in.
    expect(writes(fixture.requests)).toEqual(['putHeartbeat:put', 'putHeartbeat:renew']);
    const { candidates } = await fixture.store.loadLease(fixture.key);
    expect(candidates[0]?.renewTime).toBe(fixture.clock());
  });

  it('goes the usual way from a list, where ADDED says nothing about being new', async () => {
    const fixture = singleCluster();

    await ingestCandidate(fixture.deps, 'c', 'ADDED', created(fixture));

    expect(writes(fixture.requests)).toEqual(['putHeartbeat:renew', 'putHeartbeat:put']);
  });
});
