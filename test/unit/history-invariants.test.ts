import { describe, expect, it } from 'vitest';
import { FENCED_HOLDER } from '../../lib/api/lease.js';
import { formatMicroTime } from '../../lib/api/time.js';
import type { LeaseRecord } from '../../lib/election/types.js';
import { checkHeartbeatsKept, checkSingleHolder } from '../helpers/history-invariants.js';
import { singleCluster } from '../helpers/single-cluster.js';

/**
 * The model's safety checks judge a holder by what it did in its own cluster: a takeover that read
 * the holder's release fences the Lease before naming a successor (lib/coordinator/fence-holder.ts),
 * so the last write there is ours while the holder's own last write is still its release. And a
 * candidate whose object its cluster deleted may leave the table however recently it renewed.
 */
describe('the model’s safety checks (unit: in-memory table and cluster)', () => {
  async function heldThenTakenOver(holderLetGo: boolean) {
    const world = singleCluster();
    const { store, cluster, key, clock, advance } = world;
    const ref = { namespace: key.namespace, name: key.name };
    const first: LeaseRecord = {
      term: 1,
      holderIdentity: 'x',
      leaseDurationSeconds: 5,
      renewTime: clock(),
      holderCluster: 'c',
    };
    await store.writeLease(key, first, undefined, clock());
    cluster.create(
      'Lease',
      {
        metadata: { ...ref },
        spec: { holderIdentity: 'x', leaseDurationSeconds: 5, renewTime: formatMicroTime(clock()) },
      },
      'coordinator',
    );
    advance(1_000);
    cluster.renewLease(ref, 'x', 5);
    await store.recordRenewal(
      key,
      { holderIdentity: 'x', expectedHolder: 'x', leaseDurationSeconds: 5 },
      clock(),
    );
    advance(1);
    if (holderLetGo) cluster.releaseLease(ref, 'x');
    const shown = cluster.get('Lease', ref) ?? {};
    cluster.replace(
      'Lease',
      { ...shown, spec: { ...(shown.spec as object), holderIdentity: FENCED_HOLDER } },
      'coordinator',
    );
    const { lease } = await store.loadLease(key);
    await store.writeLease(
      key,
      { term: 2, holderIdentity: 'y', leaseDurationSeconds: 5, renewTime: clock(), holderCluster: 'c' },
      lease?.version,
      clock(),
    );
    return checkSingleHolder(world.table, [cluster], key);
  }

  it('a successor named over a fence that went over the holder’s release is no second holder', async () => {
    expect(await heldThenTakenOver(true)).toEqual([]);
  });

  it('a successor named over a fence that went over the holder’s live renewal is one', async () => {
    const violations = await heldThenTakenOver(false);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(/replaced x \(unexpired until .*\) with y/);
  });

  async function removedAfter(objectDeleted: boolean) {
    const { store, cluster, key, table, heartbeat } = singleCluster();
    await heartbeat('x', '1.30.0');
    const [stored] = (await store.loadLease(key)).candidates;
    if (objectDeleted)
      cluster.delete('LeaseCandidate', { namespace: key.namespace, name: 'x' }, undefined, 'agent');
    await store.removeCandidate(key, 'c', 'x', stored?.sentRenewTime ?? 0);
    return checkHeartbeatsKept(table, [cluster]);
  }

  it('a live candidate removed once its object is deleted from its cluster is not a lost heartbeat', async () => {
    expect(await removedAfter(true)).toEqual([]);
  });

  it('a live candidate removed while its object stands is one', async () => {
    expect(await removedAfter(false)).toEqual([
      expect.stringMatching(/removeCandidate .* deleted a live candidate/),
    ]);
  });
});
