import type { LeaseCandidateObject } from '../../lib/api/leasecandidate.js';
import type { Millis } from '../../lib/election/types.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';

/** A LeaseCandidate as an HTTP heartbeat carries it (no resourceVersion: heard over HTTP), for putHeartbeat. */
export function httpHeartbeat(
  key: LeaseKey,
  name: string,
  emulationVersion: string,
  renewTime: Millis,
): LeaseCandidateObject & { renewTime: Millis } {
  return {
    apiVersion: 'v1beta1',
    name,
    namespace: key.namespace,
    leaseName: key.name,
    binaryVersion: '1.31.0',
    emulationVersion,
    strategy: 'OldestEmulationVersion',
    renewTime,
  };
}
