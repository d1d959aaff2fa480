import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REVOKED_HOLDER } from '../../lib/api/lease.js';
import { overlaps, until } from '../../lib/harness/candidates.js';
import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import { type GroupCluster, type LeaseGroupStack, startLeaseGroup } from './lease-group.js';
import { expectPreemptedByRevoke } from './lease-watch.js';

/**
 * The preemption by revoke with kube-scheduler's and kube-controller-manager's timings (15 s leases,
 * renew deadline 10 s, retry period 2 s), where the coordinator's own lease duration (5 s) is not the
 * holder's. Gate off in both clusters, each elector an unmodified client-go process with the candidate
 * agent beside it. The revoke comes as soon as the holder leads, before or just after its first
 * recorded renewal: the successor may be named only one of the holder's lease durations after its
 * last renewal (docs/reliability.md, "A preemption by revoke counted the record's lease duration").
 */
const LEASE_DURATION_S = 15;
const TIMINGS = [`--lease-duration=${LEASE_DURATION_S}s`, '--renew-deadline=10s', '--retry-period=2s'];
const LEASE = 'long-lease';

describe('managed clusters with 15 s leases, gate off (e2e: coordinator + 2 kube-apiservers + client-go electors + agents)', () => {
  let group: LeaseGroupStack | undefined;

  beforeAll(async () => {
    group = await startLeaseGroup(LEASE, TIMINGS, { gate: 'off' });
  }, 600_000);

  afterAll(() => group?.stop());

  it('a holder revoked as soon as it leads is replaced only after its own 15 s lease ran out, never beside it', async () => {
    const { clusters, pods, leases } = group as LeaseGroupStack;
    const plane = (name: GroupCluster) => clusters.planes.find((p) => p.name === name) as ControlPlane;
    const pod = (identity: string, cluster: GroupCluster, emulationVersion: string) =>
      pods.start({
        identity,
        cluster: plane(cluster),
        lease: LEASE,
        versions: ['1.35.0', emulationVersion],
        registration: 'agent',
      });
    const newer = await pod('newer', 'beta', '1.35.0');
    await until(pods.all, () => newer.leading);
    const older = await pod('older', 'alpha', '1.34.0');
    await until(pods.all, () => older.leading && !newer.leading);
    await leases.until(() => leases.events.beta.some((e) => e.holder === 'older'));

    expect(overlaps(pods.all)).toEqual([]);
    expectPreemptedByRevoke(leases.events.beta, leases.events.alpha, 'newer', 'older');
    // Both stamps are on the coordinator's clock: the revoke's is the holder's last renewal.
    const revoked = leases.events.beta.find((e) => e.holder === REVOKED_HOLDER);
    const named = leases.events.beta.find((e) => e.holder === 'older');
    const waited = Date.parse(named?.renewTime ?? '') - Date.parse(revoked?.renewTime ?? '');
    console.log(`15 s leases, gate off: the revoke's stamp → the successor named: ${waited} ms`);
    expect(waited).toBeGreaterThanOrEqual(LEASE_DURATION_S * 1000);
    expect(newer.intervals).toHaveLength(1);
    expect(older.intervals).toHaveLength(1);
  }, 240_000);
});
