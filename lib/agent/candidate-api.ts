import { CandidateApiNotServedError } from '../errors.js';
import type { ApiChoice } from './options.js';

/** Where the agent's LeaseCandidate lives: one group/version of the `leasecandidates` resource. */
export interface CandidateApi {
  readonly group: string;
  readonly version: string;
}

export const BUILTIN_GROUP = 'coordination.k8s.io';
/** infra/kubernetes/leasecandidate-crd.yaml: for clusters with the CoordinatedLeaderElection gate off. */
export const CRD_API: CandidateApi = { group: 'coordination.lease-coordinator.dev', version: 'v1' };
/**
 * Newest first. v1alpha1 is left out: its spec (preferredStrategies, optional versions) is not the
 * one the agent writes, and no release that serves only v1alpha1 is still supported.
 */
const BUILTIN_VERSIONS = ['v1beta1', 'v1alpha2'] as const;

/** Discovery as the apiserver reports it: each group and the versions it serves. */
export type ServedGroups = ReadonlyMap<string, readonly string[]>;

/**
 * The built-in API when the cluster serves it (the coordinator reads it first), else the CRD.
 * `builtin` and `crd` force one, for clusters and tests that must use a given one.
 */
export function chooseCandidateApi(served: ServedGroups, choice: ApiChoice): CandidateApi {
  const builtin = BUILTIN_VERSIONS.find((v) => served.get(BUILTIN_GROUP)?.includes(v));
  const crd = served.get(CRD_API.group)?.includes(CRD_API.version) === true;
  if (choice !== 'crd' && builtin !== undefined) return { group: BUILTIN_GROUP, version: builtin };
  if (choice !== 'builtin' && crd) return CRD_API;
  throw new CandidateApiNotServedError(notServed(choice, crd));
}

/** Names the flag when it forced the API, and what would work instead. */
function notServed(choice: ApiChoice, crd: boolean): string {
  const builtin = `${BUILTIN_GROUP} ${BUILTIN_VERSIONS.join(' or ')}`;
  const apply = 'apply infra/kubernetes/leasecandidate-crd.yaml';
  if (choice === 'builtin')
    return (
      `--api builtin: the cluster serves no LeaseCandidate API of ${builtin} (its CoordinatedLeaderElection gate is off)` +
      (crd
        ? `; it serves ${describeApi(CRD_API)}: leave --api at auto`
        : `; leave --api at auto and ${apply}`)
    );
  if (choice === 'crd')
    return `--api crd: the cluster does not serve ${describeApi(CRD_API)} LeaseCandidate; ${apply}`;
  return `the cluster serves no LeaseCandidate API: not ${builtin}, nor ${describeApi(CRD_API)}; ${apply}`;
}

export function describeApi(api: CandidateApi): string {
  return `${api.group}/${api.version}`;
}
