import { candidateApiOf } from '../api/leasecandidate.js';
import { formatMicroTime, formatTime } from '../api/time.js';
import type { StoredCandidate } from '../ports/store.js';

/** The stored candidate as a LeaseCandidate object in the version it was sent in. */
export function toLeaseCandidateObject(c: StoredCandidate) {
  const strategyFields =
    c.preferredStrategies !== undefined
      ? { preferredStrategies: c.preferredStrategies }
      : { strategy: c.strategy };
  return {
    apiVersion: candidateApiOf(c.apiVersion).apiVersion,
    kind: 'LeaseCandidate',
    metadata: {
      name: c.name,
      namespace: c.namespace,
      creationTimestamp: formatTime(c.creationTimestamp),
      annotations: { 'lease-coordinator.dev/cluster': c.cluster },
    },
    spec: {
      leaseName: c.leaseName,
      binaryVersion: c.binaryVersion,
      ...(c.emulationVersion !== '' && { emulationVersion: c.emulationVersion }),
      ...strategyFields,
      renewTime: formatMicroTime(c.sentRenewTime),
      ...(c.pingTime !== undefined && { pingTime: formatMicroTime(c.pingTime) }),
    },
  };
}
