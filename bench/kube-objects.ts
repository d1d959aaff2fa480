import pRetry from 'p-retry';
import { formatMicroTime } from '../lib/api/time.js';
import { leaseCandidate } from '../lib/harness/kube-admin.js';
import { kube } from '../lib/kube-local/admin.js';
import type { ControlPlane } from '../lib/kube-local/control-plane.js';

export const CANDIDATES = '/apis/coordination.k8s.io/v1beta1/namespaces/default/leasecandidates';
/** Where a gate-off cluster keeps LeaseCandidates: the project's CRD (docs/clusters.md). */
export const CRD_CANDIDATES =
  '/apis/coordination.lease-coordinator.dev/v1/namespaces/default/leasecandidates';

/** The LeaseCandidate collection a plane serves: built in with the gate on, the CRD with it off. */
export function candidatesOf(plane: ControlPlane): string {
  return plane.gate === 'off' ? CRD_CANDIDATES : CANDIDATES;
}

/** Creates a LeaseCandidate as client-go's NewCandidate would, renewed now. */
export async function createCandidate(
  plane: ControlPlane,
  name: string,
  leaseName: string,
  versions: { binary: string; emulation: string },
): Promise<void> {
  const res = await kube(plane, 'POST', CANDIDATES, leaseCandidate(name, leaseName, versions, Date.now()));
  if (res.status !== 201) throw new Error(`creating LeaseCandidate ${name}: ${res.status}`);
}

/** Renews a LeaseCandidate (a merge patch of spec.renewTime, as the candidate's own heartbeat). */
export async function renewCandidate(plane: ControlPlane, name: string): Promise<void> {
  const res = await kube(
    plane,
    'PATCH',
    `${CANDIDATES}/${name}`,
    { spec: { renewTime: formatMicroTime(Date.now()) } },
    'admin',
    'application/merge-patch+json',
  );
  if (res.status !== 200) throw new Error(`renewing LeaseCandidate ${name}: ${res.status}`);
}

export async function deleteCandidate(plane: ControlPlane, name: string): Promise<void> {
  await kube(plane, 'DELETE', `${candidatesOf(plane)}/${name}`);
}

/** Resolves once the named LeaseCandidate exists (the candidate process has registered). */
export async function candidateExists(plane: ControlPlane, name: string): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    if ((await kube(plane, 'GET', `${candidatesOf(plane)}/${name}`)).status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`LeaseCandidate ${name} never appeared`);
}

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/default/leases';

/**
 * Resolves once the Lease names `holder` (the coordinator elected and mirrored it). Meanwhile the
 * bench answers the holder's pings as its client-go process would: a candidate that was already
 * stale when its election ran (more than 5 s old, which a busy setup at 10,000 leases reaches) is
 * pinged and is elected only once it renews; these candidates have no process of their own.
 */
export async function leaseHeldBy(
  plane: ControlPlane,
  lease: string,
  holder: string,
  // Generous: at 10,000 leases the setup shares two cores with the apiserver, DynamoDB Local and the refresh pings.
  pace: { retries: number; minTimeout: number; maxTimeout: number; signal?: AbortSignal } = {
    retries: 600,
    minTimeout: 100,
    maxTimeout: 1000,
  },
): Promise<void> {
  await pRetry(async () => {
    const res = await kube(plane, 'GET', `${LEASES}/${lease}`);
    const spec = (res.json.spec ?? {}) as { holderIdentity?: string };
    if (spec.holderIdentity === holder) return;
    await answerPing(plane, holder);
    throw new Error(
      `Lease ${lease} is not held by ${holder} yet (GET ${res.status}, holder ${spec.holderIdentity ?? 'none'})`,
    );
  }, pace);
}

/** Renews the LeaseCandidate if the coordinator pinged it after its last renewal, as client-go does. */
async function answerPing(plane: ControlPlane, name: string): Promise<void> {
  const { status, json } = await kube(plane, 'GET', `${CANDIDATES}/${name}`);
  const spec = (json.spec ?? {}) as { pingTime?: string; renewTime?: string };
  if (status !== 200 || spec.pingTime === undefined) return;
  if (spec.renewTime === undefined || Date.parse(spec.pingTime) > Date.parse(spec.renewTime))
    await renewCandidate(plane, name);
}

/**
 * Renews the Lease as its holder would (a PUT of the whole spec, as client-go does), with a long
 * duration: the lease then has a live leader and no deadline for the whole measurement.
 */
export async function holdLease(plane: ControlPlane, lease: string, seconds: number): Promise<void> {
  await pRetry(
    async () => {
      const current = await kube(plane, 'GET', `${LEASES}/${lease}`);
      const spec = (current.json.spec ?? {}) as Record<string, unknown>;
      const res = await kube(plane, 'PUT', `${LEASES}/${lease}`, {
        ...current.json,
        spec: { ...spec, leaseDurationSeconds: seconds, renewTime: formatMicroTime(Date.now()) },
      });
      if (res.status !== 200) throw new Error(`holding Lease ${lease}: ${res.status}`);
    },
    { retries: 10, minTimeout: 50, maxTimeout: 500 },
  );
}
