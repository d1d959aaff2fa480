import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseClustersConfig } from '../../lib/clusters/config.js';
import { applyRbac, benchInTreeController } from '../../lib/kube-local/admin.js';
import { ensureCandidateBinary } from '../../lib/kube-local/build.js';
import { type ControlPlane, startControlPlane, writeKubeconfig } from '../../lib/kube-local/control-plane.js';
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

/**
 * What every e2e file starts from: local control planes with the coordinator's RBAC and the in-tree
 * CLE controller kept from leading, and the coordinator running on its own (`npm start`'s wiring),
 * reaching each cluster only through the RBAC-bound coordinator identity.
 */
export async function startCoordinatedClusters(
  names: readonly string[],
  leaseGroups: readonly {
    namespace: string;
    name: string;
    clusters: string[];
    holderClusterUnreachable?: 'Wait' | 'TakeOver';
  }[],
  options: Omit<LocalCoordinatorOptions, 'autonomous' | 'clusters'> = {},
): Promise<CoordinatedClusters> {
  const candidateBinary = await ensureCandidateBinary();
  const planes = await Promise.all(names.map((name) => startControlPlane(name)));
  for (const plane of planes) {
    await applyRbac(plane);
    await benchInTreeController(plane);
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
