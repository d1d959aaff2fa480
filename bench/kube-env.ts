import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBRecord } from 'aws-lambda';
import { parseClustersConfig } from '../lib/clusters/config.js';
import { applyCandidateRbac, applyCrd, applyRbac, benchInTreeController } from '../lib/kube-local/admin.js';
import { ensureCandidateBinary, ensureKubeBinaries } from '../lib/kube-local/build.js';
import { type ControlPlane, startControlPlane, writeKubeconfig } from '../lib/kube-local/control-plane.js';
import { trackInvocations } from '../lib/local/invocations.js';
import { type LocalCoordinator, startLocalCoordinator } from '../lib/local/local-coordinator.js';
import { bundleAgent } from '../scripts/bundle-agent.mjs';
import { CapacityMeter } from './capacity-meter.js';
import { LeaseWatch } from './lease-watch.js';
import { removalSettled } from './settle.js';

/** The gate-off cluster's name (its kubeconfig context), beside c1…cN. */
export const GATE_OFF_CLUSTER = 'off1';

/**
 * Prepares a gate-off apiserver as docs/clusters.md asks of a managed cluster: the coordinator's RBAC,
 * the LeaseCandidate CRD (served before it returns) and the candidates' RBAC. It has no in-tree
 * CLE controller to bench: the gate is off.
 */
async function prepareGateOff(plane: ControlPlane): Promise<ControlPlane> {
  await applyRbac(plane);
  await applyCrd(plane);
  await applyCandidateRbac(plane);
  return plane;
}

/** The lease names of one propagation trial set: ungrouped (N=1) or a lease group over N clusters. */
export function propagationLease(clusters: number, trial: number): string {
  return `prop${clusters}-${trial}`;
}

export interface KubeBench {
  /** kube-apiserver with its own CLE controller free to act: the baseline. */
  readonly inTree: ControlPlane;
  /** kube-apiservers whose in-tree controller is kept from leading; ours coordinates them. */
  readonly ours: readonly ControlPlane[];
  /**
   * With `gateOff`: one more apiserver of ours with the CoordinatedLeaderElection gate off, as managed
   * control planes run it (the LeaseCandidate CRD and candidate RBAC applied), and the bundled
   * candidate agent that registers its electors.
   */
  readonly gateOff: { readonly plane: ControlPlane; readonly agentBundle: string } | undefined;
  readonly coordinator: LocalCoordinator;
  readonly meter: CapacityMeter;
  readonly watches: Map<string, LeaseWatch>;
  /** LeaseCandidate watches on the same planes: when a candidate first shows (the preemption split). */
  readonly candidateWatches?: Map<string, LeaseWatch>;
  readonly candidateBinary: string;
  readonly adminKubeconfig: string;
  /** When the lease's first decision with a holder was written (its updatedAt, on the coordinator's clock). */
  decidedAt(lease: string): Promise<number>;
  /** Sees every table stream record as the elect runner polls it (250 ms), filtered or not. */
  onRecord(listener: (record: DynamoDBRecord) => void): () => void;
  /** Returns once ours has stored the removal of `candidate` (of the ungrouped `lease` in `plane`) and handled what followed. */
  removalSettled(plane: ControlPlane, lease: string, candidate: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * What the election, failover and preemption trials need: a baseline plane, planes of ours, Lease
 * watches on each, and the candidate program. The in-process bench and the packaged one both give it.
 */
export type TrialBench = Pick<
  KubeBench,
  | 'inTree'
  | 'ours'
  | 'watches'
  | 'candidateWatches'
  | 'candidateBinary'
  | 'adminKubeconfig'
  | 'removalSettled'
>;

/**
 * Everything the Kubernetes figures run on, from one build: the baseline apiserver and `ourCount`
 * apiservers coordinated by lease-coordinator, which runs in this process as `npm start` runs it
 * (streams, timers, ingest watches, mirror), with lease groups for the propagation trials.
 */
export async function startKubeBench(
  ourCount: number,
  propagationTrials: number,
  { gateOff = false }: { gateOff?: boolean } = {},
): Promise<KubeBench> {
  await ensureKubeBinaries();
  const candidateBinary = await ensureCandidateBinary();
  const names = Array.from({ length: ourCount }, (_, i) => `c${i + 1}`);
  // Started beside the others (each apiserver takes seconds to come up), prepared after them.
  const offStarting = gateOff ? startControlPlane(GATE_OFF_CLUSTER, { gate: 'off' }) : undefined;
  const [inTree, ...ours] = (await Promise.all([
    startControlPlane('intree'),
    ...names.map((n) => startControlPlane(n)),
  ])) as [ControlPlane, ...ControlPlane[]];
  for (const plane of ours) {
    await applyRbac(plane);
    await benchInTreeController(plane);
  }
  const dir = mkdtempSync(join(tmpdir(), 'lease-coordinator-bench-'));
  const offPlane = offStarting === undefined ? undefined : await prepareGateOff(await offStarting);
  const agentBundle = gateOff ? await bundleAgent(join(dir, 'agent.mjs')) : undefined;
  const coordinated = offPlane === undefined ? ours : [...ours, offPlane];
  const planes = [inTree, ...coordinated];
  const adminKubeconfig = join(dir, 'admin.kubeconfig');
  writeKubeconfig(adminKubeconfig, planes, 'admin');
  writeKubeconfig(join(dir, 'coordinator.kubeconfig'), coordinated, 'coordinator');
  const leaseGroups = [2, 4]
    .filter((n) => n <= ourCount)
    .flatMap((n) =>
      Array.from({ length: propagationTrials }, (_, trial) => ({
        namespace: 'default',
        name: propagationLease(n, trial),
        clusters: names.slice(0, n),
      })),
    );
  const config = parseClustersConfig({
    clusters: coordinated.map(({ name }) => ({
      name,
      kubeconfig: { path: 'coordinator.kubeconfig', context: name },
    })),
    leaseGroups,
  });
  const listeners = new Set<(record: DynamoDBRecord) => void>();
  const onRecord = (listener: (record: DynamoDBRecord) => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  const decided = new Map<string, number>();
  const decisionWaiters = new Map<string, (at: number) => void>();
  const observe = (record: DynamoDBRecord) => {
    for (const listener of listeners) listener(record);
    const image = record.dynamodb?.NewImage;
    if (image?.sk?.S !== 'LEASE' || image.change?.S !== 'decision' || !image.holderIdentity?.S) return;
    const name = image.pk?.S?.split('/').pop();
    if (name === undefined || decided.has(name)) return;
    const at = Number(image.updatedAt?.N);
    decided.set(name, at);
    decisionWaiters.get(name)?.(at);
  };
  // Before the start, so the always-on ingest is booked to its function too.
  trackInvocations();
  const meter = new CapacityMeter();
  const coordinator = await startLocalCoordinator({
    autonomous: true,
    // LOG_LEVEL=INFO shows the coordinator's steps when a figure looks wrong.
    logLevel: (process.env.LOG_LEVEL as 'INFO' | undefined) ?? 'SILENT',
    clusters: { config, configDir: dir },
    observe,
    onTableClient: (client) => meter.attach(client),
  });
  const watches = new Map(planes.map((p) => [p.name, new LeaseWatch(p)]));
  const candidateWatches = new Map(
    [inTree, ...ours].map((p) => [p.name, new LeaseWatch(p, 'default', 'leasecandidates')]),
  );
  for (const watch of [...watches.values(), ...candidateWatches.values()]) watch.start();
  return {
    inTree,
    ours,
    gateOff:
      offPlane !== undefined && agentBundle !== undefined ? { plane: offPlane, agentBundle } : undefined,
    coordinator,
    meter,
    watches,
    candidateWatches,
    candidateBinary,
    adminKubeconfig,
    decidedAt: (lease) => {
      const at = decided.get(lease);
      if (at !== undefined) return Promise.resolve(at);
      return new Promise((resolve) => decisionWaiters.set(lease, resolve));
    },
    onRecord,
    removalSettled: (plane, lease, candidate) =>
      removalSettled(
        {
          onRecord,
          drain: () => coordinator.streams.drain().then(() => coordinator.mirror.drain()),
          loadLease: (key) => coordinator.deps.store.loadLease(key),
        },
        { scope: plane.name, namespace: 'default', name: lease },
        plane.name,
        candidate,
      ),
    stop: async () => {
      for (const watch of [...watches.values(), ...candidateWatches.values()]) watch.stop();
      await coordinator.stop();
      await Promise.all(planes.map((p) => p.stop()));
    },
  };
}
