import { formatMicroTime } from '../api/time.js';
import type { LeaseEvent } from '../ports/cluster.js';

/** The controller our Events name as their reporter (events.k8s.io/v1 requires one). */
export const EVENT_REPORTER = 'lease-coordinator.dev/coordinator';

/**
 * `<lease>.<hex nanoseconds>`, the name client-go's recorder gives an Event (the apiserver refuses a
 * generateName ending in "."); the sub-millisecond digits are random, so two Events in one
 * millisecond do not collide.
 */
function eventName(lease: string, at: number): string {
  const nanos = BigInt(at) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000));
  return `${lease}.${nanos.toString(16)}`;
}

/**
 * An events.k8s.io/v1 Event regarding a Lease. The core v1 view of it (what `kubectl describe
 * lease` lists) shows `regarding` as involvedObject and `note` as its message.
 */
export function leaseEventObject(event: LeaseEvent): Record<string, unknown> {
  const { lease } = event;
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: eventName(lease.name, event.at), namespace: lease.namespace },
    eventTime: formatMicroTime(event.at),
    reportingController: EVENT_REPORTER,
    reportingInstance: 'lease-coordinator',
    action: event.action,
    reason: event.reason,
    type: 'Normal',
    note: event.note.slice(0, 1024),
    regarding: {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      namespace: lease.namespace,
      name: lease.name,
      ...(lease.uid !== undefined && { uid: lease.uid }),
      ...(lease.resourceVersion !== undefined && { resourceVersion: lease.resourceVersion }),
    },
  };
}
