import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { REVOKED_HOLDER } from '../../lib/api/lease.js';
import { AgentProcess } from '../../lib/harness/agent-process.js';
import { CandidateProcess } from '../../lib/harness/candidates.js';
import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import { freePort } from '../../lib/local/dynamodb-local.js';
import type { KubeBench } from '../kube-env.js';
import { candidateExists, deleteCandidate } from '../kube-objects.js';
import type { FailoverParts } from './failover.js';
import type { PreemptionParts } from './preemption.js';
import { LEASE_DURATION_MS, leads, RETRY_PERIOD_MS } from './processes.js';
import { failoverSplit, pushSplit, revokeSplit } from './splits.js';

/** Gate-off preemption trials, each split as the gate-on figure is. */
export interface GateOffPreemption {
  readonly samples: number[];
  readonly parts: PreemptionParts;
  /**
   * Of `decide`: pod start → the agent created its LeaseCandidate (the agent's log timestamp),
   * the pod's own start-up before the coordinator can see it. Absent in runs before it was taken.
   */
  readonly registered?: number[];
}

/** Failover and preemption in a gate-off cluster, each trial split as its gate-on figure is. */
export interface GateOffResult {
  readonly failover: { readonly samples: number[]; readonly parts: FailoverParts };
  /** `concurrency` pods started at once (10 by default), all on this machine. */
  readonly preemption: GateOffPreemption;
  /** Pods in flight at once in `failover` and `preemption` (--concurrency); absent in runs saved before it was kept. */
  readonly concurrency?: number;
  /**
   * Preemption again, one pod at a time, as pods land on separate nodes in a cluster: a pod's own
   * latency, without 2 × `concurrency` processes starting together on this machine's cores. Absent in
   * runs saved before it was taken, and when `concurrency` is 1 (`preemption` is then one at a time).
   */
  readonly preemptionOneAtATime?: GateOffPreemption;
}

/**
 * A pod as a managed cluster runs it: an unmodified client-go elector that cannot register itself
 * (the cluster serves no built-in LeaseCandidate API), and the candidate agent beside it, which
 * registers it on the CRD and renews it while the elector's /healthz answers.
 */
interface Pod {
  readonly identity: string;
  readonly elector: CandidateProcess;
  readonly agent: AgentProcess;
}

async function startPod(
  bench: KubeBench,
  plane: ControlPlane,
  agentBundle: string,
  identity: string,
  lease: string,
  emulationVersion: string,
): Promise<Pod> {
  const healthz = `127.0.0.1:${await freePort()}`;
  const common = [
    `--kubeconfig=${bench.adminKubeconfig}`,
    `--context=${plane.name}`,
    `--lease=${lease}`,
    '--binary-version=1.35.0',
    `--emulation-version=${emulationVersion}`,
  ];
  const elector = new CandidateProcess(identity, bench.candidateBinary, [
    ...common,
    '--register-candidate=false',
    `--healthz-address=${healthz}`,
    // The same client-go timings as the gate-on figures (processes.ts).
    `--lease-duration=${LEASE_DURATION_MS / 1000}s`,
    '--renew-deadline=3s',
    `--retry-period=${RETRY_PERIOD_MS}ms`,
  ]);
  const agent = new AgentProcess(agentBundle, [
    ...common,
    '--namespace=default',
    `--identity=${identity}`,
    `--health-url=http://${healthz}/healthz`,
  ]);
  return { identity, elector, agent };
}

/** When the agent logged creating its LeaseCandidate (its own clock: the same machine). */
async function createdLogged(agent: AgentProcess): Promise<number | undefined> {
  const [line] = await agent.lineCount((l) => l.message === 'created', 1);
  const at = Date.parse(String(line?.timestamp));
  return Number.isFinite(at) ? at : undefined;
}

/** The pod dies: elector and agent SIGKILLed at once, nothing released or withdrawn. */
async function killPod(pod: Pod): Promise<number> {
  const at = pod.elector.kill();
  await pod.agent.kill();
  return at;
}

/**
 * The pod stops cleanly: the agent (SIGTERM) withdraws its LeaseCandidate, then the elector (SIGTERM)
 * releases. The LeaseCandidate of a pod that was killed is deleted here, as its owner would be.
 */
async function stopPods(plane: ControlPlane, pods: readonly Pod[]): Promise<void> {
  await Promise.all(
    pods.map(async ({ agent }) => {
      agent.signal('SIGTERM');
      await agent.exited;
    }),
  );
  await Promise.all(pods.map(({ elector }) => elector.stop()));
  await Promise.all(pods.map(({ identity }) => deleteCandidate(plane, identity)));
  // AGENT_LOGS=dir keeps each agent's log for debugging, as CANDIDATE_LOGS keeps the electors'.
  const logs = process.env.AGENT_LOGS;
  if (logs !== undefined)
    for (const { identity, agent } of pods)
      writeFileSync(join(logs, `${identity}.agent.log`), agent.output());
}

/**
 * Failover then preemption on the gate-off plane, `concurrency` leases at a time, `trials` each;
 * then, when `concurrency` is above 1, preemption again one lease at a time (`trials` more, about
 * 7 s each: the revoke's lease duration and the pods' start and stop).
 * Failover: the leading pod is killed → the next best's elector leads. Preemption: a pod with an
 * older emulation version starts while another leads → its elector leads; the holder's cluster drops
 * spec.preferredHolder, so the coordinator revokes the holder and names the successor one lease
 * duration later (docs/clusters.md, "Preemption, and clusters that drop preferredHolder").
 */
export async function measureGateOff(
  bench: KubeBench,
  trials: number,
  concurrency: number,
): Promise<GateOffResult> {
  const gateOff = bench.gateOff;
  if (gateOff === undefined)
    throw new Error('the gate-off figure needs startKubeBench(…, { gateOff: true })');
  const { plane, agentBundle } = gateOff;
  const run = (
    prefix: string,
    atOnce: number,
    trial: (lease: string) => Promise<number>,
    samples: number[],
  ) => {
    const limit = pLimit(atOnce);
    return Promise.all(
      Array.from({ length: trials }, (_, i) =>
        limit(async () => samples.push(await trial(`${prefix}-${i}`))),
      ),
    );
  };
  const preemption = async (prefix: string, atOnce: number): Promise<GateOffPreemption> => {
    const figure: GateOffPreemption = {
      samples: [],
      parts: { decide: [], yield: [], takeover: [], poll: [] },
      registered: [],
    };
    await run(
      prefix,
      atOnce,
      (lease) => preemptOnce(bench, plane, agentBundle, lease, figure),
      figure.samples,
    );
    return figure;
  };
  const failover: GateOffResult['failover'] = {
    samples: [],
    parts: { untilExpiry: [], coordinator: [], poll: [] },
  };
  await run(
    'off-failover',
    concurrency,
    (lease) => failoverOnce(bench, plane, agentBundle, lease, failover.parts),
    failover.samples,
  );
  const atOnce = await preemption('off-preempt', concurrency);
  const oneAtATime = concurrency > 1 ? await preemption('off-preempt1', 1) : undefined;
  return {
    failover,
    preemption: atOnce,
    concurrency,
    ...(oneAtATime !== undefined && { preemptionOneAtATime: oneAtATime }),
  };
}

async function failoverOnce(
  bench: KubeBench,
  plane: ControlPlane,
  agentBundle: string,
  lease: string,
  parts: FailoverParts,
): Promise<number> {
  const pods: Pod[] = [];
  const watch = bench.watches.get(plane.name);
  try {
    const best = await startPod(bench, plane, agentBundle, `${lease}-best`, lease, '1.34.0');
    pods.push(best);
    const next = await startPod(bench, plane, agentBundle, `${lease}-next`, lease, '1.35.0');
    pods.push(next);
    await leads(best.elector);
    await candidateExists(plane, next.identity);
    const killedAt = await killPod(best);
    const shown = watch?.waitFor(lease, (view) => view.holderIdentity === next.identity);
    const ledAt = await leads(next.elector);
    const shownAt = await shown;
    const lastRenewal = watch?.lastRenewal(lease, best.identity);
    pushSplit(parts, failoverSplit({ killedAt, lastRenewal, shownAt, ledAt }, LEASE_DURATION_MS));
    return ledAt - killedAt;
  } finally {
    await stopPods(plane, pods);
  }
}

async function preemptOnce(
  bench: KubeBench,
  plane: ControlPlane,
  agentBundle: string,
  lease: string,
  { parts, registered }: GateOffPreemption,
): Promise<number> {
  const pods: Pod[] = [];
  const watch = bench.watches.get(plane.name);
  try {
    const incumbent = await startPod(bench, plane, agentBundle, `${lease}-new`, lease, '1.35.0');
    pods.push(incumbent);
    await leads(incumbent.elector);
    const startedAt = Date.now();
    const older = await startPod(bench, plane, agentBundle, `${lease}-old`, lease, '1.34.0');
    pods.push(older);
    // Each step's waiter also ends at the successor named, so a step the Lease never showed cannot
    // hang the trial; such a trial counts in the total but is not split.
    const seen = { preferred: false, revoked: false };
    const preferred = watch?.waitFor(lease, (v) => {
      seen.preferred ||= v.preferredAnnotation === older.identity;
      return seen.preferred || v.holderIdentity === older.identity;
    });
    const revoked = watch?.waitFor(lease, (v) => {
      seen.revoked ||= v.holderIdentity === REVOKED_HOLDER;
      return seen.revoked || v.holderIdentity === older.identity;
    });
    const named = watch?.waitFor(lease, (v) => v.holderIdentity === older.identity);
    const ledAt = await leads(older.elector);
    const [preferredAt, revokedAt, namedAt] = await Promise.all([preferred, revoked, named]);
    pushSplit(
      parts,
      revokeSplit({
        startedAt,
        preferredAt: seen.preferred ? preferredAt : undefined,
        revokedAt: seen.revoked ? revokedAt : undefined,
        namedAt,
        ledAt,
      }),
    );
    const createdAt = await createdLogged(older.agent);
    if (createdAt !== undefined) registered?.push(createdAt - startedAt);
    return ledAt - startedAt;
  } finally {
    await stopPods(plane, pods);
  }
}
