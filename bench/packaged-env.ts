import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBRecord, SQSEvent } from 'aws-lambda';
import { stringify as stringifyYaml } from 'yaml';
import { applyRbac, benchInTreeController } from '../lib/kube-local/admin.js';
import { ensureCandidateBinary, ensureKubeBinaries } from '../lib/kube-local/build.js';
import { type ControlPlane, startControlPlane, writeKubeconfig } from '../lib/kube-local/control-plane.js';
import type { FunctionName } from '../lib/local/invocations.js';
import {
  type PackagedCoordinator,
  startPackagedCoordinator,
} from '../lib/local/packaged/packaged-coordinator.js';
import type { TrialBench } from './kube-env.js';
import { LeaseWatch } from './lease-watch.js';
import { removalSettled } from './settle.js';

/** The name of the one cluster the packaged coordinator coordinates. */
const PACKAGED_PLANE = 'pkg1';

export interface PackagedBench extends TrialBench {
  readonly coordinator: PackagedCoordinator;
  /** Each timer message's arrival at `requeue` after the deadline it carries, ms, in arrival order. */
  readonly timerLateness: readonly number[];
  /** When each new `requeue` container was started for a batch, epoch ms. */
  readonly requeueColdStarts: readonly number[];
  stop(): Promise<void>;
}

/**
 * The trials' environment with the coordinator as `serverless deploy` ships it: a baseline
 * apiserver whose own CLE controller is free to act, and one apiserver coordinated by the packaged
 * bundles in Lambda-like containers (cold starts, the SQS timer queue's whole-second delays, the
 * minute schedules), reading the clusters config from the local SSM stand-in. Its own planes, so
 * nothing of the in-process bench runs beside it.
 */
export async function startPackagedBench(log: (line: string) => void): Promise<PackagedBench> {
  await ensureKubeBinaries();
  const candidateBinary = await ensureCandidateBinary();
  const planes = await Promise.all([startControlPlane('intree'), startControlPlane(PACKAGED_PLANE)]);
  const [inTree, ours] = planes as [ControlPlane, ControlPlane];
  const dir = mkdtempSync(join(tmpdir(), 'lease-coordinator-bench-packaged-'));
  const stopPlanes = async () => {
    await Promise.all(planes.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  let coordinator: PackagedCoordinator;
  try {
    await applyRbac(ours);
    await benchInTreeController(ours);
    const adminKubeconfig = join(dir, 'admin.kubeconfig');
    writeKubeconfig(adminKubeconfig, planes, 'admin');
    writeKubeconfig(join(dir, 'coordinator.kubeconfig'), [ours], 'coordinator');
    const config = {
      clusters: [{ name: ours.name, kubeconfig: { path: 'coordinator.kubeconfig', context: ours.name } }],
    };
    const listeners = new Set<(record: DynamoDBRecord) => void>();
    const onRecord = (listener: (record: DynamoDBRecord) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    };
    coordinator = await startPackagedCoordinator({
      // LOG_LEVEL=INFO shows the functions' steps when a figure looks wrong.
      logLevel: (process.env.LOG_LEVEL as 'INFO' | undefined) ?? 'SILENT',
      clusters: { yaml: stringifyYaml(config), configDir: dir },
      observe: (record) => {
        for (const listener of listeners) listener(record);
      },
      log,
    });
    const { lateness: timerLateness, coldStarts: requeueColdStarts } = timeTimerArrivals(coordinator);
    const watches = new Map(planes.map((p) => [p.name, new LeaseWatch(p)]));
    for (const watch of watches.values()) watch.start();
    return {
      inTree,
      ours: [ours],
      coordinator,
      timerLateness,
      requeueColdStarts,
      watches,
      candidateBinary,
      adminKubeconfig,
      removalSettled: (plane, lease, candidate) =>
        removalSettled(
          { onRecord, drain: coordinator.drain, loadLease: (key) => coordinator.store.loadLease(key) },
          { scope: plane.name, namespace: 'default', name: lease },
          plane.name,
          candidate,
        ),
      stop: async () => {
        for (const watch of watches.values()) watch.stop();
        await coordinator.stop();
        await stopPlanes();
      },
    };
  } catch (error) {
    await stopPlanes();
    throw error;
  }
}

/**
 * Times every timer message as the queue hands it to `requeue`, against the `dueAt` it carries
 * (lib/runtime/sqs-timer-queue.ts): what the whole-second DelaySeconds and the delivery add to a
 * deadline, before any cold start; and notes when a batch meets a new container, since a cold
 * `requeue` during a burst of deadlines holds one of the mapping's two batches for its whole init.
 * The bench wraps the function's `invoke`, which the queue calls for each batch, so the runtime
 * itself stays as `npm start -- --packaged` runs it.
 */
function timeTimerArrivals(coordinator: PackagedCoordinator): { lateness: number[]; coldStarts: number[] } {
  const lateness: number[] = [];
  const coldStarts: number[] = [];
  const requeue = coordinator.functions.get('requeue');
  if (requeue === undefined) return { lateness, coldStarts };
  const invoke = requeue.invoke.bind(requeue);
  requeue.invoke = (event) => {
    const at = Date.now();
    for (const record of (event as SQSEvent).Records) {
      const { dueAt } = JSON.parse(record.body) as { dueAt?: unknown };
      if (typeof dueAt === 'number') lateness.push(at - dueAt);
    }
    const before = requeue.stats.coldStarts;
    // A new container is started synchronously by invoke, before its first await.
    const running = invoke(event);
    if (requeue.stats.coldStarts > before) coldStarts.push(at);
    return running;
  };
  return { lateness, coldStarts };
}

/** One packaged function's invocations over the run, as Lambda's metrics would show them. */
export interface ColdStarts {
  readonly fn: FunctionName;
  readonly invocations: number;
  readonly coldStarts: number;
  readonly errors: number;
  readonly timeouts: number;
  /** Module init time of each cold start, import to handler ready. */
  readonly initMs: number[];
  /** The Node its containers reported running on (absent in runs saved before they reported it). */
  readonly nodeVersion?: string;
}

/** Every packaged function's counts since the coordinator started (its first cold starts included). */
export function coldStarts(coordinator: PackagedCoordinator): ColdStarts[] {
  return [...coordinator.functions].map(([fn, f]) => ({
    fn,
    invocations: f.stats.invocations,
    coldStarts: f.stats.coldStarts,
    errors: f.stats.errors,
    timeouts: f.stats.timeouts,
    initMs: [...f.stats.initMs],
    ...(f.stats.nodeVersion !== undefined && { nodeVersion: f.stats.nodeVersion }),
  }));
}
