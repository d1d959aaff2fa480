/** A coordinated lease's identity, and which clusters it spans (lib/ports/coordinator.ts says what the ports promise). */

/**
 * Identifies one coordinated lease: one table partition. `scope` is the set of clusters the
 * lease is coordinated across, names joined by "+" in sorted order: one cluster for a lease
 * coordinated the upstream way, several for a lease group.
 */
export interface LeaseKey {
  readonly scope: string;
  readonly namespace: string;
  readonly name: string;
}

/** The clusters a lease is coordinated across. */
export function clustersOf(key: LeaseKey): string[] {
  return key.scope.split('+');
}

export function scopeOf(clusters: readonly string[]): string {
  return [...clusters].sort().join('+');
}

/** Which lease a cluster's lease name belongs to: its lease group, or the cluster alone. */
export type LeaseResolver = (cluster: string, namespace: string, leaseName: string) => LeaseKey;

/** Without lease groups every lease is coordinated inside its own cluster. */
export const ungroupedLeases: LeaseResolver = (cluster, namespace, name) => ({
  scope: cluster,
  namespace,
  name,
});
