import pLimit from 'p-limit';
import { CandidateProcess, until } from '../../lib/harness/candidates.js';
import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import { type BusySeries, sampleBusy } from '../busy-sampler.js';
import type { TrialBench } from '../kube-env.js';
import { candidateExists, deleteCandidate } from '../kube-objects.js';

/**
 * client-go timings for both systems: lease 5 s and renew 3 s as upstream's CLE integration tests,
 * retry 500 ms. A coordinated elector learns it was elected only at its next poll, 1–2.2 retry
 * periods apart; the failover floor is the lease duration after the last renewal.
 */
export const LEASE_DURATION_MS = 5_000;
export const RETRY_PERIOD_MS = 500;
const TIMINGS = ['--lease-duration=5s', '--renew-deadline=3s', `--retry-period=${RETRY_PERIOD_MS}ms`];

export function spawnCandidate(
  bench: TrialBench,
  plane: ControlPlane,
  identity: string,
  lease: string,
  versions: [string, string],
  /** client-go's timing flags; the trials' (TIMINGS) unless given. */
  timings: readonly string[] = TIMINGS,
): CandidateProcess {
  return new CandidateProcess(identity, bench.candidateBinary, [
    `--kubeconfig=${bench.adminKubeconfig}`,
    `--context=${plane.name}`,
    `--lease=${lease}`,
    `--binary-version=${versions[0]}`,
    `--emulation-version=${versions[1]}`,
    ...timings,
  ]);
}

export async function leads(p: CandidateProcess): Promise<number> {
  await until([p], () => p.leading, 10_000);
  return p.intervals[p.intervals.length - 1]?.start ?? Number.NaN;
}

/** How pairedTrials runs its trials, beyond how many at a time. */
export interface TrialPlan {
  /** Spaces the first round's starts this far apart per system; 0, all at once. */
  readonly firstRoundGapMs?: number;
  /** A pool of `concurrency` per system instead of one of twice that shared in trial order. */
  readonly perSystem?: boolean;
}

/**
 * Runs `trial` for ours and for the baseline, both systems at once so that both see the same load,
 * from one pool of 2 × `concurrency` slots taken in trial order (ours and the baseline's
 * alternating): the first round is `concurrency` trials a system, and after it each freed slot goes
 * to the next trial in line, whichever system's. Each trial gets its own lease. The first round
 * starts together unless `firstRoundGapMs` spaces it (the i-th of each system i × that later); later
 * trials start as earlier ones end (docs/benchmark.md, "The first round"). With `perSystem`, each
 * system has a pool of `concurrency` of its own instead, so neither ever has more in flight (the
 * preemption figure's one-at-a-time control); the counted figures keep the shared pool they were
 * always measured with.
 */
export async function pairedTrials(
  bench: TrialBench,
  trials: number,
  concurrency: number,
  trial: (plane: ControlPlane, lease: string) => Promise<number>,
  prefix: string,
  { firstRoundGapMs = 0, perSystem = false }: TrialPlan = {},
): Promise<{ ours: number[]; baseline: number[]; busy: BusySeries; firstRoundGapMs?: number }> {
  const ours: number[] = [];
  const baseline: number[] = [];
  const ourPlane = bench.ours[0] as ControlPlane;
  const shared = perSystem ? undefined : pLimit(concurrency * 2);
  const ourLimit = shared ?? pLimit(concurrency);
  const baselineLimit = shared ?? pLimit(concurrency);
  const startOf = async (i: number) => {
    if (i < concurrency && i > 0 && firstRoundGapMs > 0)
      await new Promise((start) => setTimeout(start, i * firstRoundGapMs));
  };
  const sampler = sampleBusy();
  let busy: BusySeries;
  try {
    await Promise.all(
      Array.from({ length: trials }, (_, i) => [
        ourLimit(async () => {
          await startOf(i);
          ours.push(await trial(ourPlane, `${prefix}-${i}`));
        }),
        baselineLimit(async () => {
          await startOf(i);
          baseline.push(await trial(bench.inTree, `${prefix}-${i}`));
        }),
      ]).flat(),
    );
  } finally {
    // Stopped on a failed trial too: its interval would hold the bench open.
    busy = sampler.stop();
  }
  // Recorded only where used: a saved run without it started its first round at once.
  return { ours, baseline, busy, ...(firstRoundGapMs > 0 && { firstRoundGapMs }) };
}

/** Stops the processes (they release) and removes their LeaseCandidates. */
export async function cleanUp(plane: ControlPlane, processes: readonly CandidateProcess[]): Promise<void> {
  await Promise.all(processes.map((p) => p.stop()));
  await Promise.all(processes.map((p) => deleteCandidate(plane, p.identity)));
}

export { candidateExists };
