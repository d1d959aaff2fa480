import { describe, expect, it } from 'vitest';
import type { ClusterSource, ObjectRef } from '../../lib/ports/cluster.js';
import { decideAndMirror } from '../../lib/sync/decide-now.js';
import { holderLeaseFence } from '../../lib/sync/holder-lease-reader.js';
import { heldByOld, type PairCluster } from '../helpers/two-clusters.js';

/**
 * A lease grouped over "a" and "b", held by "old" in "a" and mirrored; then "old" goes silent past
 * its lease while "next" keeps renewing, so the next decision is a failover.
 */
async function expiredHolder() {
  const fixture = await heldByOld();
  fixture.advance(6_000);
  await fixture.heartbeat('a', fixture.key, 'next', '1.35.0');
  fixture.requests.length = 0;
  return fixture;
}

const holderIn = (fixture: Awaited<ReturnType<typeof expiredHolder>>, cluster: PairCluster) =>
  (fixture.planes[cluster].get('Lease', fixture.key)?.spec as { holderIdentity?: string } | undefined)
    ?.holderIdentity;

describe('a decision hands its Lease reads to the mirror (unit: in-memory table and clusters)', () => {
  it('fails over with one read of the holder’s Lease: the look before the takeover', async () => {
    const fixture = await expiredHolder();
    const { deps, key, requests } = fixture;

    const step = await decideAndMirror(deps, deps, key);

    expect(step.action).toBe('takeover');
    expect(holderIn(fixture, 'a')).toBe('next');
    expect(holderIn(fixture, 'b')).toBe('next');
    expect(requests.filter((r) => r === 'a:readLease')).toHaveLength(1);
    // "b" was not read by the decision, so the mirror reads it itself.
    expect(requests.filter((r) => r === 'b:readLease')).toHaveLength(1);
  });

  it('fences the holder and fails over with that one read: the mirror writes over what the fence left', async () => {
    const fixture = await expiredHolder();
    const { deps, key, requests } = fixture;
    const fencing = { ...deps, fenceHolderLease: holderLeaseFence(deps.clusters) };

    const step = await decideAndMirror(fencing, deps, key);

    expect(step.action).toBe('takeover');
    expect(holderIn(fixture, 'a')).toBe('next');
    expect(requests.filter((r) => r === 'a:readLease')).toHaveLength(1);
    expect(requests.filter((r) => r === 'a:patchLease')).toHaveLength(1);
    // Not refused as stale: the mirror started from the Lease as the fence left it.
    expect(requests.filter((r) => r === 'a:replaceLease')).toHaveLength(1);
  });

  it('reads again when the Lease changed between the decision’s read and the mirror’s write', async () => {
    const fixture = await expiredHolder();
    const { deps, key, planes, requests } = fixture;
    let changed = false;
    // Someone writes the Lease in "a" just before the mirror's write reaches it.
    const clusters: ClusterSource = {
      get: async (name) =>
        planes[name as PairCluster].port(async (what) => {
          requests.push(what);
          if (what === 'a:replaceLease' && !changed) {
            changed = true;
            const current = planes.a.get('Lease', key as ObjectRef) ?? {};
            planes.a.replace('Lease', current, 'someone');
          }
        }),
    };

    await decideAndMirror(deps, { ...deps, clusters }, key);

    expect(changed).toBe(true);
    expect(holderIn(fixture, 'a')).toBe('next');
    // The decision's read, then the mirror's own after its write was refused.
    expect(requests.filter((r) => r === 'a:readLease')).toHaveLength(2);
    expect(requests.filter((r) => r === 'a:replaceLease')).toHaveLength(2);
  });
});
