/**
 * What a legacy client-go elector (`Coordinated: false`) makes of a takeover's fence, the moment
 * between taking an expired holder off its Lease and naming the successor there
 * (lib/coordinator/fence-holder.ts). Such an elector takes an empty Lease at once, and any Lease
 * whose record has not changed for its lease duration since it last saw it change. Were the fence
 * empty, it would take the Lease before the successor's naming reached the cluster, and lead
 * beside the successor in a lease group's other cluster. The fence names our placeholder with the
 * holder's duration, so it waits a whole lease duration from the fence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FENCED_HOLDER } from '../../lib/api/lease.js';
import { formatMicroTime } from '../../lib/api/time.js';
import { until } from '../../lib/harness/candidates.js';
import {
  type CoordinatedClusters,
  startCoordinatedClusters,
} from '../../lib/harness/coordinated-clusters.js';
import { kube } from '../../lib/kube-local/admin.js';
import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import { CandidatePods } from './candidate-pods.js';

const LEASE_DURATION_S = 5;
const TIMINGS = ['--lease-duration=5s', '--renew-deadline=3s', '--retry-period=500ms'];
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/default/leases';
const KEY = { scope: 'alpha', namespace: 'default', name: 'fenced' };

describe('a takeover’s fence seen by a legacy elector (e2e: gate-off kube-apiserver + a legacy client-go process)', () => {
  let clusters: CoordinatedClusters;
  let pods: CandidatePods;
  let alpha: ControlPlane;

  beforeAll(async () => {
    clusters = await startCoordinatedClusters(['alpha'], [], { gate: 'off' });
    pods = new CandidatePods(clusters, TIMINGS);
    alpha = clusters.planes[0] as ControlPlane;
  }, 600_000);

  afterAll(async () => {
    await pods?.stopAll();
    await clusters?.stop();
  });

  it('waits a whole lease duration from the fence before it takes the Lease', async () => {
    // A holder's Lease, live for now: the holder has just stopped renewing.
    const created = await kube(alpha, 'POST', LEASES, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: KEY.name },
      spec: {
        holderIdentity: 'gone',
        leaseDurationSeconds: LEASE_DURATION_S,
        renewTime: formatMicroTime(Date.now()),
      },
    });
    expect(created.status).toBe(201);
    const legacy = await pods.start({
      identity: 'legacy',
      cluster: alpha,
      lease: KEY.name,
      versions: ['1.35.0', '1.35.0'],
      registration: 'legacy',
    });
    const { resourceVersion } = created.json.metadata as { resourceVersion: string };
    const fence = clusters.coordinator.deps.fenceHolderLease;
    if (fence === undefined) throw new Error('the coordinator fences');

    const fencedAt = Date.now();
    const fenced = await fence('alpha', KEY, {
      resourceVersion,
      term: 1,
      at: fencedAt,
      leaseDurationSeconds: LEASE_DURATION_S,
    });
    expect(fenced).toBe(true);
    const read = await kube(alpha, 'GET', `${LEASES}/${KEY.name}`);
    expect((read.json.spec as { holderIdentity?: string }).holderIdentity).toBe(FENCED_HOLDER);
    await until(pods.all, () => legacy.leading);

    // Committed after fencedAt, and seen no earlier: the elector's lease duration counts from there.
    expect(legacy.intervals[0]?.start).toBeGreaterThanOrEqual(fencedAt + LEASE_DURATION_S * 1000);
  }, 120_000);
});
