import { formatMicroTime } from '../api/time.js';

export { applyRbac, benchInTreeController, kube } from '../kube-local/admin.js';

export function leaseCandidate(
  name: string,
  leaseName: string,
  versions: { binary: string; emulation: string },
  renewTime: number,
  strategy = 'OldestEmulationVersion',
) {
  return {
    apiVersion: 'coordination.k8s.io/v1beta1',
    kind: 'LeaseCandidate',
    metadata: { name, namespace: 'default' },
    spec: {
      leaseName,
      binaryVersion: versions.binary,
      emulationVersion: versions.emulation,
      strategy,
      renewTime: formatMicroTime(renewTime),
    },
  };
}
