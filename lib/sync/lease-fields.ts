import type { ClusterPort, RawObject } from '../ports/cluster.js';

/** The Lease fields a cluster may drop from a write: kube-apiserver does with the gate off. */
export const COORDINATION_FIELDS = ['strategy', 'preferredHolder'] as const;
export type CoordinationField = (typeof COORDINATION_FIELDS)[number];

/** Which coordination fields a cluster's Leases keep. */
export type KeptFields = Readonly<Record<CoordinationField, boolean>>;

/** What is assumed of a cluster before any write to it has shown otherwise. */
export const ALL_KEPT: KeptFields = { strategy: true, preferredHolder: true };

/**
 * What a cluster keeps, as learned from the apiserver's answers to our own Lease writes. With the
 * CoordinatedLeaderElection gate off, kube-apiserver's Lease strategy clears spec.strategy and
 * spec.preferredHolder on create, and on update unless the stored Lease already had them;
 * annotations are kept. A mirror that compared those fields there would never see the cluster in
 * sync and would write on every pass. Discovery cannot tell: the gate and the served LeaseCandidate
 * versions are set apart. The answer is exact, per field, and follows the cluster if its gate is
 * turned on or off later. The memory lives with the client (one per cluster and container): a new
 * container learns again from its first write.
 */
export function keptFields(client: Pick<ClusterPort, 'leaseFieldsKept'>): KeptFields {
  return { ...ALL_KEPT, ...client.leaseFieldsKept };
}

/**
 * Records what a write kept: a field we sent that the stored object does not show was dropped.
 * Returns true when this changes what is known of the cluster (the caller plans again).
 */
export function learnKeptFields(
  client: Pick<ClusterPort, 'leaseFieldsKept'>,
  sentSpec: Readonly<Record<string, unknown>>,
  stored: RawObject | undefined,
): boolean {
  if (stored === undefined) return false;
  const storedSpec = (stored.spec ?? {}) as Record<string, unknown>;
  const before = keptFields(client);
  for (const field of COORDINATION_FIELDS) {
    if (sentSpec[field] !== undefined) client.leaseFieldsKept[field] = storedSpec[field] === sentSpec[field];
  }
  const after = keptFields(client);
  return COORDINATION_FIELDS.some((field) => after[field] !== before[field]);
}
