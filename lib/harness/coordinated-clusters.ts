import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { type HttpCallersConfig, parseClustersConfig } from '../clusters/config.js';
import { applyCandidateRbac, applyCrd, applyRbac, benchInTreeController } from '../kube-local/admin.js';
import { ensureCandidateBinary } from '../kube-local/build.js';
import {
  type ControlPlane,
  type Gate,
  startControlPlane,
  writeKubeconfig,
} from '../kube-local/control-plane.js';
import { type GateChoice, gatesFor } from '../kube-local/local-clusters.js';
import { type DynamoDbLocal, startDynamoDbLocal } from '../local/dynamodb-local.js';
import {
  type LocalCoordinator,
  type LocalCoordinatorOptions,
  startLocalCoordinator,
} from '../local/local-coordinator.js';
import {
  type PackagedCoordinator,
  type PackagedCoordinatorOptions,
  startPackagedCoordinator,
} from '../local/packaged/packaged-coordinator.js';

export interface CoordinatedClusters {
  readonly planes: readonly ControlPlane[];
  /** The client-go candidate program, built once per machine. */
  readonly candidateBinary: string;
  /** One context per cluster, named like it, as the cluster admin: what candidate processes use. */
  readonly adminKubeconfig: string;
  /** The coordinator running now: the first one, or the one `startCoordinator` started last. */
  readonly coordinator: LocalCoordinator;
  /**
   * Stops the coordinator as an outage does: its watches, timers, stream readers and memory end;
   * the table (DynamoDB Local, the harness's own) and the clusters stay.
   */
  stopCoordinator(): Promise<void>;
  /**
   * A new coordinator with the same options on the table and clusters a stopped one left: a cold
   * start, knowing only what they hold (its stream read from the newest record on).
   */
  startCoordinator(): Promise<LocalCoordinator>;
  stop(): Promise<void>;
}

export interface LeaseGroupSpec {
  readonly namespace: string;
  readonly name: string;
  readonly clusters: string[];
  readonly holderClusterUnreachable?: 'Wait' | 'TakeOver';
}

export interface CoordinatedClustersOptions extends Omit<LocalCoordinatorOptions, 'autonomous' | 'clusters'> {
  /**
   * The CoordinatedLeaderElection gate: one for every cluster, `mixed` (alternating, the first
   * on: `gatesFor`), or one per cluster in `names` order. Default `on`.
   */
  readonly gate?: GateChoice | readonly Gate[];
  /** The HTTP callers of some clusters, as the clusters config names them (`httpCallers`). */
  readonly httpCallers?: Readonly<Record<string, HttpCallersConfig>>;
}

/**
 * What every e2e file starts from: local control planes with the coordinator's RBAC, and the
 * coordinator running on its own (`npm start`'s wiring), reaching each cluster only through the
 * RBAC-bound coordinator identity. Gate on: the in-tree CLE controller kept from leading. Gate off
 * (a managed cluster): the LeaseCandidate CRD and the candidates' RBAC applied.
 */
export async function startCoordinatedClusters(
  names: readonly string[],
  leaseGroups: readonly LeaseGroupSpec[],
  { gate = 'on', httpCallers = {}, ...options }: CoordinatedClustersOptions = {},
): Promise<CoordinatedClusters> {
  const clusters = await startClusters(names, leaseGroups, gate, httpCallers);
  let dynamodb: DynamoDbLocal | undefined;
  let running: LocalCoordinator | undefined;
  const stopCoordinator = async () => {
    await running?.stop();
    running = undefined;
  };
  try {
    dynamodb = await startDynamoDbLocal();
    const table = dynamodb;
    const startCoordinator = async () => {
      if (running !== undefined) throw new Error('startCoordinator: a coordinator is running');
      running = await startLocalCoordinator({
        logLevel: (process.env.LOG_LEVEL as 'DEBUG' | undefined) ?? 'SILENT',
        ...options,
        dynamodb: table,
        autonomous: true,
        clusters: { config: parseClustersConfig(clusters.config), configDir: clusters.dir },
      });
      return running;
    };
    await startCoordinator();
    return {
      ...clusters,
      get coordinator() {
        if (running === undefined) throw new Error('coordinator: stopped (startCoordinator starts one)');
        return running;
      },
      stopCoordinator,
      startCoordinator,
      stop: async () => {
        await stopCoordinator();
        await clusters.stopWith(table);
      },
    };
  } catch (error) {
    await stopCoordinator();
    await clusters.stopWith(dynamodb);
    throw error;
  }
}

export interface PackagedCoordinatedClusters
  extends Omit<CoordinatedClusters, 'coordinator' | 'stopCoordinator' | 'startCoordinator'> {
  readonly coordinator: PackagedCoordinator;
}

export interface PackagedCoordinatedClustersOptions extends Omit<PackagedCoordinatorOptions, 'clusters'> {
  /** As in `startCoordinatedClusters`. Default `on`. */
  readonly gate?: GateChoice | readonly Gate[];
  /** As in `startCoordinatedClusters`. */
  readonly httpCallers?: Readonly<Record<string, HttpCallersConfig>>;
}

/**
 * The same clusters, with the coordinator as `serverless deploy` ships it: the packaged bundles in
 * Lambda-like containers, reading the clusters config from (a local stand-in for) SSM.
 */
export async function startPackagedCoordinatedClusters(
  names: readonly string[],
  leaseGroups: readonly LeaseGroupSpec[],
  { gate = 'on', httpCallers = {}, ...options }: PackagedCoordinatedClustersOptions = {},
): Promise<PackagedCoordinatedClusters> {
  const clusters = await startClusters(names, leaseGroups, gate, httpCallers);
  try {
    const coordinator = await startPackagedCoordinator({
      logLevel: (process.env.LOG_LEVEL as 'DEBUG' | undefined) ?? 'SILENT',
      ...options,
      clusters: { yaml: stringifyYaml(clusters.config), configDir: clusters.dir },
    });
    return { ...clusters, coordinator, stop: () => clusters.stopWith(coordinator) };
  } catch (error) {
    await clusters.stopWith(undefined);
    throw error;
  }
}

/**
 * Local control planes with the coordinator's RBAC (gate on: the in-tree CLE controller kept from
 * leading; gate off: the LeaseCandidate CRD and the candidates' RBAC applied); the clusters config
 * (raw, as its YAML would hold it) names each cluster through the RBAC-bound coordinator identity.
 */
async function startClusters(
  names: readonly string[],
  leaseGroups: readonly LeaseGroupSpec[],
  gate: GateChoice | readonly Gate[],
  httpCallers: Readonly<Record<string, HttpCallersConfig>>,
) {
  const candidateBinary = await ensureCandidateBinary();
  const gates = typeof gate === 'string' ? gatesFor(gate, names.length) : gate;
  if (gates.length !== names.length)
    throw new Error(`gate: ${gates.length} gates for ${names.length} clusters (${names.join(', ')})`);
  const planes = await Promise.all(
    names.map((name, i) => startControlPlane(name, { gate: gates[i] ?? 'on' })),
  );
  for (const plane of planes) {
    await applyRbac(plane);
    if (plane.gate === 'on') {
      await benchInTreeController(plane);
    } else {
      await applyCrd(plane);
      await applyCandidateRbac(plane);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'lease-coordinator-e2e-'));
  const adminKubeconfig = join(dir, 'admin.kubeconfig');
  writeKubeconfig(adminKubeconfig, planes, 'admin');
  writeKubeconfig(join(dir, 'coordinator.kubeconfig'), planes, 'coordinator');
  const config = {
    clusters: names.map((name) => ({
      name,
      kubeconfig: { path: 'coordinator.kubeconfig', context: name },
      ...(httpCallers[name] !== undefined && { httpCallers: httpCallers[name] }),
    })),
    leaseGroups,
  };
  return {
    planes,
    candidateBinary,
    adminKubeconfig,
    dir,
    config,
    stopWith: async (coordinator: { stop(): Promise<void> } | undefined) => {
      await coordinator?.stop();
      await Promise.all(planes.map((p) => p.stop()));
    },
  };
}
