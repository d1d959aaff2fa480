import { describe, expect, it, vi } from 'vitest';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import type { ClusterSource } from '../../lib/ports/cluster.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { singleCluster } from '../helpers/single-cluster.js';

/** sched-a elected and mirrored, then sched-b (older) arrives and the step asks sched-a to yield to it. */
async function electThenPreempt({ deps, key, heartbeat, advance }: ReturnType<typeof singleCluster>) {
  await heartbeat('sched-a', '1.31.0');
  await reconcileLease(deps, key);
  await mirrorLease(deps, key);
  advance(1_000);
  await heartbeat('sched-b', '1.30.0');
  expect((await reconcileLease(deps, key)).action).toBe('preempt');
}

describe('Events on the Lease (unit: in-memory table and cluster)', () => {
  it('records a holder change once, with why it was chosen, and nothing for a mirror pass that changes nothing', async () => {
    const { deps, key, heartbeat, cluster } = singleCluster();
    await heartbeat('sched-a', '1.31.0');
    await heartbeat('sched-b', '1.30.0');
    await heartbeat('sched-c', '1.31.0');
    await reconcileLease(deps, key);
    expect(await mirrorLease(deps, key)).toEqual({ c: 'created' });
    expect(await mirrorLease(deps, key)).toEqual({ c: 'in-sync' });
    expect(cluster.events).toEqual([
      {
        lease: expect.objectContaining({ namespace: key.namespace, name: key.name }),
        reason: 'LeaderElection',
        action: 'Elect',
        at: deps.clock(),
        note: 'Elected sched-b (term 1): lowest emulation version 1.30.0 of 3 candidates',
      },
    ]);
  });

  it('records a preemption: the holder asked to yield, and to whom', async () => {
    const world = singleCluster();
    const { deps, key, cluster } = world;
    await electThenPreempt(world);
    await mirrorLease(deps, key);
    expect(cluster.events.map((e) => [e.reason, e.action, e.note])).toEqual([
      ['LeaderElection', 'Elect', 'Elected sched-a (term 1): the only live candidate'],
      [
        'LeaderPreemption',
        'Preempt',
        'Asked sched-a to yield to sched-b (term 1): lowest emulation version 1.30.0 of 2 candidates',
      ],
    ]);
  });

  it('never fails the mirror when the Event is refused: it logs it', async () => {
    const { deps, key, heartbeat, cluster } = singleCluster();
    const refusing: ClusterSource = {
      get: async () =>
        Object.assign(cluster.port(), {
          recordEvent: async () => {
            throw new Error('events is forbidden');
          },
        }),
    };
    const warn = vi.spyOn(deps.logger, 'warn');
    await heartbeat('sched-a', '1.31.0');
    await reconcileLease(deps, key);
    expect(await mirrorLease({ ...deps, clusters: refusing }, key)).toEqual({ c: 'created' });
    expect(cluster.get('Lease', key)?.spec).toMatchObject({ holderIdentity: 'sched-a' });
    expect(warn).toHaveBeenCalledWith(
      'cannot record an Event on the Lease; the Lease itself is written',
      expect.objectContaining({ reason: 'LeaderElection' }),
    );
  });
});

describe('Events where the cluster drops preferredHolder (unit: in-memory cluster, gate off)', () => {
  it('records the revoke of the holder in its own cluster', async () => {
    const world = singleCluster('c', 'solo', 'kube-system', { gate: 'off' });
    const { deps, key, cluster } = world;
    await electThenPreempt(world);
    expect(await mirrorLease(deps, key)).toEqual({ c: 'revoked' });
    expect(cluster.events.map((e) => [e.reason, e.action, e.note])).toEqual([
      ['LeaderElection', 'Elect', 'Elected sched-a (term 1): the only live candidate'],
      [
        'LeaderPreemption',
        'Revoke',
        'Revoked sched-a for sched-b (term 1): lowest emulation version 1.30.0 of 2 candidates; this cluster drops preferredHolder, so the successor is named one lease duration after its last renewal',
      ],
    ]);
  });
});
