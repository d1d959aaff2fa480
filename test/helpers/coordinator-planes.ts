import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyRbac, benchInTreeController } from '../../lib/harness/kube-admin.js';
import { ensureKubeBinaries } from '../../lib/kube-local/build.js';
import { type ControlPlane, startControlPlane, writeKubeconfig } from '../../lib/kube-local/control-plane.js';

/**
 * Two control planes as the coordinator finds them: each with only the RBAC in
 * infra/kubernetes/rbac.yaml for the coordinator's user, and the in-tree CLE controller kept from
 * leading (it would act on OldestEmulationVersion leases too). `configDir` holds `kubeconfig`, the
 * coordinator's, with one context named after each plane.
 */
export async function startCoordinatorPlanes(
  names: readonly [string, string],
): Promise<{ planes: [ControlPlane, ControlPlane]; configDir: string }> {
  await ensureKubeBinaries();
  const planes = await Promise.all([startControlPlane(names[0]), startControlPlane(names[1])]);
  for (const plane of planes) {
    await applyRbac(plane);
    await benchInTreeController(plane);
  }
  const configDir = mkdtempSync(join(tmpdir(), `lease-coordinator-${names.join('-')}-`));
  writeKubeconfig(join(configDir, 'kubeconfig'), planes, 'coordinator');
  return { planes, configDir };
}
