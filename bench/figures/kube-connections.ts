import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { Apiserver } from '../../lib/kube/apiserver.js';
import { loadApiserverAccess } from '../../lib/kube/kubeconfig-file.js';
import { kube } from '../../lib/kube-local/admin.js';
import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import type { KubeBench } from '../kube-env.js';

/** Per GET of one Lease: wall time and this process's CPU, both in ms. */
export interface RequestCost {
  readonly wallMs: number;
  readonly cpuMs: number;
}

export interface ConnectionResult {
  readonly gets: number;
  /** The client library's default: a new agent, so a new TCP connection and TLS handshake, per request. */
  readonly perRequest: RequestCost;
  /** lib/kube/apiserver.ts, what the coordinator and the agent use: one kept pool per cluster. */
  readonly kept: RequestCost;
}

const LEASE = 'kube-connections';

/**
 * What every apiserver request of the coordinator costs, with a new connection per request (what
 * @kubernetes/client-node 1.x does by default) and over the kept connections the coordinator
 * uses. Sequential GETs of one Lease, the two clients alternating in blocks (ABAB), so a busy
 * moment of the shared machine lands on both.
 */
export async function measureKubeConnections(bench: KubeBench, gets: number): Promise<ConnectionResult> {
  const plane = bench.ours[0] as ControlPlane;
  const config = new KubeConfig();
  config.loadFromFile(bench.adminKubeconfig);
  config.setCurrentContext(plane.name);
  const library = config.makeApiClient(CustomObjectsApi);
  const ours = new Apiserver(loadApiserverAccess({ file: bench.adminKubeconfig, context: plane.name }));
  const path = `/apis/coordination.k8s.io/v1/namespaces/default/leases/${LEASE}`;
  const get = {
    perRequest: () =>
      library.getNamespacedCustomObject({
        group: 'coordination.k8s.io',
        version: 'v1',
        plural: 'leases',
        namespace: 'default',
        name: LEASE,
      }),
    kept: () => ours.call('GET', path),
  };
  await kube(plane, 'POST', '/apis/coordination.k8s.io/v1/namespaces/default/leases', {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: LEASE, namespace: 'default' },
    spec: {},
  });
  const totals = { perRequest: { wallMs: 0, cpuMs: 0 }, kept: { wallMs: 0, cpuMs: 0 } };
  const blocks = 4;
  const perBlock = Math.max(1, Math.round(gets / blocks));
  try {
    for (let block = 0; block < blocks; block++) {
      for (const which of ['perRequest', 'kept'] as const) {
        const cpu = process.cpuUsage();
        const started = performance.now();
        for (let i = 0; i < perBlock; i++) await get[which]();
        const used = process.cpuUsage(cpu);
        totals[which].wallMs += performance.now() - started;
        totals[which].cpuMs += (used.user + used.system) / 1000;
      }
    }
  } finally {
    await kube(plane, 'DELETE', path);
  }
  const n = perBlock * blocks;
  const per = (t: { wallMs: number; cpuMs: number }) => ({ wallMs: t.wallMs / n, cpuMs: t.cpuMs / n });
  return { gets: n, perRequest: per(totals.perRequest), kept: per(totals.kept) };
}
