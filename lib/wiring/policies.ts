import type { ClustersConfig } from '../clusters/config.js';
import { holderClusterPolicy, leaseResolver, preemptionPolicy } from '../clusters/lease-groups.js';
import { configuredCallers } from '../http/callers.js';
import type { CoordinatorDeps } from '../ports/coordinator.js';
import type { CallerCheck } from '../ports/http.js';
import { ungroupedLeases } from '../ports/lease-key.js';

/** What the clusters config decides for each lease and each HTTP caller. */
export interface ConfigPolicies
  extends Pick<CoordinatorDeps, 'leases' | 'preemption' | 'holderClusterUnreachable'> {
  readonly callers: CallerCheck;
}

/**
 * The clusters config's lease groups, per-lease policies and HTTP callers. Without a config every
 * lease is its cluster's own, the defaults apply (Auto preemption, Wait for an unreachable
 * holder cluster), and `unconfiguredCallers` says who may call: nobody when deployed, anybody on
 * the local runtime, which listens on 127.0.0.1 alone. Imports no cluster client, so the HTTP
 * functions' bundles stay small (docs/deploy.md, "Bundles").
 */
export function configPolicies(
  config: Pick<ClustersConfig, 'clusters' | 'leaseGroups'> | undefined,
  unconfiguredCallers: CallerCheck,
): ConfigPolicies {
  if (config === undefined) return { leases: ungroupedLeases, callers: unconfiguredCallers };
  return {
    leases: leaseResolver(config),
    preemption: preemptionPolicy(config),
    holderClusterUnreachable: holderClusterPolicy(config),
    callers: configuredCallers(config),
  };
}
