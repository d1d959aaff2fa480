import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseClustersConfig } from '../../lib/clusters/config.js';
import {
  applyCandidateRbac,
  applyCrd,
  applyRbac,
  benchInTreeController,
} from '../../lib/kube-local/admin.js';
import { ensureCandidateBinary } from '../../lib/kube-local/build.js';
import {
  type ControlPlane,
  type Gate,
  startControlPlane,
  writeKubeconfig,
} from '../../lib/kube-local/control-plane.js';
import { type GateChoice, gatesFor } from '../../lib/kube-local/local-clusters.js';
import {
  type LocalCoordinator,
  type LocalCoordinatorOptions,
  startLocalCoordinator,
} from '../../lib/local/local-coordinator.js';

export interface CoordinatedClusters {
  readonly planes: readonly ControlPlane[];
  /** The client-go candidate program, built once per machine. */
  readonly candidateBinary: string;
  /** One context per cluster, named like it, as the cluster admin: what candidate processes use. */
  readonly adminKubeconfig: string;
  readonly coordinator: LocalCoordinator;
  stop(): Promise<void>;
}

export interface CoordinatedClustersOptions extends Omit<LocalCoordinatorOptions, 'autonomous' | 'clusters'> {
  /**
   * The CoordinatedLeaderElection gate: one for every cluster, `mixed` (alternating, the first
   * on: `gatesFor`), or one per cluster in `names` order. Default `on`.
   */
  readonly gate?: GateChoice | readonly Gate[];
}

/**
 * What every e2e file starts from: local control planes with the coordinator's RBAC, and the
 * coordinator running on its own (`npm start`'s wiring), reaching each cluster only through the
 * RBAC-bound coordinator identity. Gate on: the in-tree CLE controller kept from leading. Gate off
 * (a managed cluster): the LeaseCandidate CRD and the candidates' RBAC applied.
 */
export async function startCoordinatedClusters(
  names: readonly string[],
  leaseGroups: readonly {
    namespace: string;
    name: string;
    clusters: string[];
    holderClusterUnreachable?: 'Wait' | 'TakeOver';
  }[],
  { gate = 'on', ...options }: CoordinatedClustersOptions = {},
): Promise<CoordinatedClusters> {
  const candidateBinary = await ensureCandidateBinary();
  const gates = typeof gate === 'string' ? gatesFor(gate, names.length) : gate;
  if (gates.length !== names.length)
    throw new Error(`gate: ${gates.length} gates for ${names.length} clusters (${names.join(', ')})`);
  const planes = await Promise.all(
    names.map((name, i) => startControlPlane(name, { gate: gates[i] ?? 'on' })),
  );
  for (const plane of planes) {
    await applyRbac(plane);
    if (plane.gate === 'on') {
      await benchInTreeController(plane);
    } else {
      await applyCrd(plane);
      await applyCandidateRbac(plane);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'lease-coordinator-e2e-'));
  const adminKubeconfig = join(dir, 'admin.kubeconfig');
  writeKubeconfig(adminKubeconfig, planes, 'admin');
  writeKubeconfig(join(dir, 'coordinator.kubeconfig'), planes, 'coordinator');
  const config = parseClustersConfig({
    clusters: names.map((name) => ({ name, kubeconfig: { path: 'coordinator.kubeconfig', context: name } })),
    leaseGroups,
  });
  const coordinator = await startLocalCoordinator({
    logLevel: (process.env.LOG_LEVEL as 'DEBUG' | undefined) ?? 'SILENT',
    ...options,
    autonomous: true,
    clusters: { config, configDir: dir },
  });
  return {
    planes,
    candidateBinary,
    adminKubeconfig,
    coordinator,
    stop: async () => {
      await coordinator.stop();
      await Promise.all(planes.map((p) => p.stop()));
    },
  };
}
