import { describe, expect, it } from 'vitest';
import { CANDIDATE_VALID_MS } from '../../lib/election/timing.js';
import { collectExpiredCandidates } from '../../lib/sync/gc.js';
import { singleCluster } from '../helpers/single-cluster.js';

describe('collectExpiredCandidates given the sweep scan (unit: in-memory table and cluster)', () => {
  it('reads nothing when no scanned candidate is collectable', async () => {
    const world = singleCluster();
    await world.heartbeat('a', '1.30.0');
    const scanned = await world.store.loadLease(world.key);
    const before = world.requests.length;
    expect(await collectExpiredCandidates(world.deps, world.key, world.clock(), scanned)).toEqual([]);
    expect(world.requests.length).toBe(before);
  });

  it('collects, from a fresh read, a candidate the scan shows expired', async () => {
    const world = singleCluster();
    await world.heartbeat('a', '1.30.0');
    world.advance(CANDIDATE_VALID_MS + 1_000);
    const scanned = await world.store.loadLease(world.key);
    expect(await collectExpiredCandidates(world.deps, world.key, world.clock(), scanned)).toEqual(['a']);
    expect((await world.store.loadLease(world.key)).candidates).toEqual([]);
    expect(
      world.cluster.get('LeaseCandidate', { namespace: world.key.namespace, name: 'a' }),
    ).toBeUndefined();
  });
});
