import type { StoredCandidate } from '../../lib/ports/store.js';

/**
 * A kube-scheduler candidate in cluster alpha, as the table stores it: versions 1.34.0, created
 * `ageMs` before `now` and renewed a second before it, unless `overrides` say otherwise.
 */
export function schedulerCandidate(
  name: string,
  now: number,
  overrides: Partial<StoredCandidate> = {},
  ageMs = 60_000,
): StoredCandidate {
  return {
    cluster: 'alpha',
    namespace: 'kube-system',
    name,
    leaseName: 'kube-scheduler',
    apiVersion: 'v1beta1',
    binaryVersion: '1.34.0',
    emulationVersion: '1.34.0',
    strategy: 'OldestEmulationVersion',
    creationTimestamp: now - ageMs,
    renewTime: now - 1_000,
    sentRenewTime: now - 1_000,
    ...overrides,
  };
}
