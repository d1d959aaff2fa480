import { InvalidArgumentError } from 'commander';
import { CANDIDATE_API_VERSIONS, candidateApiOf } from '../api/leasecandidate.js';
import { preferredCandidateApi } from '../kube/cluster.js';
import { applyCandidateRbac, applyCrd, applyRbac, benchInTreeController, kube } from './admin.js';
import { type ControlPlane, type Gate, startControlPlane } from './control-plane.js';

/**
 * The local control planes behind `npm run clusters -- up`: N kube-apiservers, each with the
 * coordinator's RBAC and the candidates' RBAC applied; gate off, the LeaseCandidate CRD; gate on,
 * the in-tree CLE controller kept from leading.
 */

/** `--gate`: every cluster on, every one off (as managed clusters run), or alternating. */
export type GateChoice = Gate | 'mixed';
export const GATE_CHOICES: readonly GateChoice[] = ['off', 'on', 'mixed'];

export function parseCount(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > 8)
    throw new InvalidArgumentError('--count must be an integer from 1 to 8');
  return count;
}

export function parseGate(value: string): GateChoice {
  if (!(GATE_CHOICES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`--gate must be one of ${GATE_CHOICES.join(', ')} (got "${value}")`);
  return value as GateChoice;
}

/**
 * The gate of each cluster, in order. `mixed` alternates, on first: cluster-a is the upstream
 * world (gate on, the in-tree API), cluster-b a managed one (gate off, the CRD), and so on; a
 * mixed group needs at least two clusters.
 */
export function gatesFor(choice: GateChoice, count: number): Gate[] {
  return Array.from({ length: count }, (_, i) =>
    choice === 'mixed' ? (i % 2 === 0 ? 'on' : 'off') : choice,
  );
}

export function clusterNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `cluster-${String.fromCharCode(97 + i)}`);
}

/** What a cluster serves, from its own discovery: not what we asked for, what it does. */
export interface ServedCandidateApis {
  /** Every LeaseCandidate apiVersion served, built-in and CRD. */
  readonly served: string[];
  /** The one ingest reads (built-in first), or undefined. */
  readonly read: string | undefined;
}

export async function servedCandidateApis(plane: ControlPlane): Promise<ServedCandidateApis> {
  const res = await kube(plane, 'GET', '/apis');
  if (res.status !== 200) throw new Error(`${plane.name}: GET /apis answered ${res.status}`);
  const groups = (res.json.groups ?? []) as { name: string; versions: { version: string }[] }[];
  const known = new Set(Object.keys(CANDIDATE_API_VERSIONS));
  const served = groups
    .flatMap((g) => g.versions.map((v) => `${g.name}/${v.version}`))
    .filter((apiVersion) => known.has(apiVersion));
  const read = preferredCandidateApi(groups);
  return { served, read: read === undefined ? undefined : candidateApiOf(read).apiVersion };
}

/** One line per cluster: `cluster-b  https://…  gate off  LeaseCandidate: coordination.lease-coordinator.dev/v1 (CRD)`. */
export function describePlane(plane: ControlPlane, apis: ServedCandidateApis): string {
  const served =
    apis.served.length === 0
      ? 'no LeaseCandidate API (apply infra/kubernetes/leasecandidate-crd.yaml)'
      : `LeaseCandidate APIs: ${apis.served.join(', ')}; ingest reads ${apis.read}`;
  return `${plane.name.padEnd(10)} ${plane.server}  gate ${plane.gate.padEnd(3)}  ${served}`;
}

export interface LocalClusters {
  readonly planes: ControlPlane[];
  /** describePlane for each, in order. */
  readonly lines: string[];
  stop(): Promise<void>;
}

/** Starts `count` control planes with the given gates; stops what it started if one fails. */
export async function startLocalClusters(options: {
  readonly count: number;
  readonly gate: GateChoice;
  /** Outlive this process (the CLI); tests leave it off. */
  readonly detached?: boolean;
}): Promise<LocalClusters> {
  const gates = gatesFor(options.gate, options.count);
  const planes: ControlPlane[] = [];
  const stop = async () => {
    await Promise.all(planes.map((plane) => plane.stop()));
  };
  try {
    for (const [i, name] of clusterNames(options.count).entries()) {
      const plane = await startControlPlane(name, {
        detached: options.detached ?? false,
        gate: gates[i] ?? 'off',
      });
      planes.push(plane);
      await applyRbac(plane);
      await applyCandidateRbac(plane);
      // Only where the built-in API is not served: ingest reads the built-in first, so objects of
      // the CRD beside it would never be read.
      if (plane.gate === 'off') await applyCrd(plane);
      else await benchInTreeController(plane);
    }
    const lines = await Promise.all(
      planes.map(async (plane) => describePlane(plane, await servedCandidateApis(plane))),
    );
    return { planes, lines, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
