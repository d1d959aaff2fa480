import { describe, expect, it, vi } from 'vitest';
import { REVOKED_HOLDER } from '../../lib/api/lease.js';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import type { LeaseRecord } from '../../lib/election/types.js';
import type { ClusterSource } from '../../lib/ports/cluster.js';
import { leaseEventFor } from '../../lib/sync/lease-events.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { schedulerCandidate } from '../helpers/scheduler-candidates.js';
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

  it('records a preference taken back: the holder kept, no longer asked to yield', async () => {
    // A newcomer's try saw two "Asked … to yield" Events and no sign the first was called off.
    const world = singleCluster();
    const { deps, key, cluster, store } = world;
    await electThenPreempt(world);
    await mirrorLease(deps, key);
    const successor = (await store.loadLease(key)).candidates.find((c) => c.name === 'sched-b');
    await store.removeCandidate(key, 'c', 'sched-b', successor?.renewTime ?? 0);
    expect((await reconcileLease(deps, key)).action).toBe('preempt');
    await mirrorLease(deps, key);
    expect(cluster.events.map((e) => [e.reason, e.action, e.note]).at(-1)).toEqual([
      'LeaderPreemption',
      'Withdraw',
      'Kept sched-a (term 1): no longer asked to yield to sched-b',
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

/**
 * A preemption's Event says why the preferred candidate beats the holder. The holder is in by its
 * renewed Lease; its LeaseCandidate (the agent renews it every 5 minutes) is seldom seconds old, and
 * ranking only the candidates renewed in the last 5 s said "the only live candidate" of a holder's
 * successor while the holder was alive and leading.
 */
describe('the reason a preemption Event gives (unit: pure)', () => {
  const NOW = Date.UTC(2026, 11, 4, 8, 0, 0);
  const candidate = (name: string, cluster: string, emulationVersion: string, renewTime: number) =>
    schedulerCandidate(name, NOW, { cluster, emulationVersion, renewTime });
  // demo-a's agent renewed its LeaseCandidate 2 minutes ago; demo-b's pod has just started.
  const candidates = [
    candidate('demo-a', 'a', '1.34.0', NOW - 120_000),
    candidate('demo-b', 'b', '1.33.0', NOW),
  ];
  const record: LeaseRecord = {
    term: 3,
    holderIdentity: 'demo-a',
    holderCluster: 'a',
    preferredHolder: 'demo-b',
    leaseDurationSeconds: 15,
    renewTime: NOW - 1_000,
  };
  const key = { scope: 'a+b', namespace: 'default', name: 'demo' };
  const before = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', spec: { holderIdentity: 'demo-a' } };

  it('a revoke names the version that beats the live holder, among the holder and the live candidates', () => {
    const write = { before, holder: REVOKED_HOLDER, preferredHolder: undefined, term: 3, stored: undefined };
    expect(leaseEventFor(key, write, record, candidates, NOW)?.note).toBe(
      'Revoked demo-a for demo-b (term 3): lowest emulation version 1.33.0 of 2 candidates; this cluster drops preferredHolder, so the successor is named one lease duration after its last renewal',
    );
  });

  it('a preference dropped from a Lease nobody holds keeps nobody: no Withdraw Event', () => {
    // The holder released when asked to yield (the release keeps the preference), then the
    // candidates moved to a strategy we do not elect for: the decision drops the preference unheld.
    const released = { ...record, holderIdentity: '' };
    const unheld = {
      ...before,
      metadata: { annotations: { 'lease-coordinator.dev/preferred-holder': 'demo-b' } },
      spec: { holderIdentity: '' },
    };
    const write = { before: unheld, holder: '', preferredHolder: undefined, term: 3, stored: undefined };
    expect(leaseEventFor(key, write, released, candidates, NOW)).toBeUndefined();
  });

  it('so does a request to yield', () => {
    const write = { before, holder: 'demo-a', preferredHolder: 'demo-b', term: 3, stored: undefined };
    expect(leaseEventFor(key, write, record, candidates, NOW)?.note).toBe(
      'Asked demo-a to yield to demo-b (term 3): lowest emulation version 1.33.0 of 2 candidates',
    );
  });
});
