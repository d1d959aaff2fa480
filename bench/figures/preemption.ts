import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import type { BusySeries } from '../busy-sampler.js';
import type { TrialBench } from '../kube-env.js';
import { cleanUp, leads, pairedTrials, spawnCandidate, type TrialPlan } from './processes.js';

/** Where one preemption's time went, split at the Lease's own watch events. */
export interface PreemptionParts {
  /** Start → the Lease names it as preferredHolder: process start, its LeaseCandidate, the decision. */
  readonly decide: number[];
  /** Start → its LeaseCandidate shows (start-up and client-go's create); absent in runs saved before it. */
  readonly register?: number[];
  /** preferredHolder shown → the holder lets go (client-go's next renew). */
  readonly yield: number[];
  /** The holder let go → the Lease names the new one (the coordinator's takeover). */
  readonly takeover: number[];
  /** The Lease names it → its OnStartedLeading (client-go's next poll). */
  readonly poll: number[];
}

export interface PreemptionResult {
  readonly ours: number[];
  readonly baseline: number[];
  readonly parts: { readonly ours: PreemptionParts; readonly baseline: PreemptionParts };
  /** Trials in flight at once per system (--concurrency); absent in runs saved before it was reported. */
  readonly concurrency?: number;
  /** The first round's starts spaced this far apart per system (--first-round-gap); absent, all at once. */
  readonly firstRoundGapMs?: number;
  /** How busy the bench's event loop and the machine were while the trials ran; absent in runs saved before it. */
  readonly busy?: BusySeries;
}

/**
 * Preemption: a process with an older emulation version starts while another leads → it leads
 * (the coordinator sets preferredHolder, the holder releases, the better one is elected). Timed
 * from the new process's start to its own OnStartedLeading, and split by the Lease's watch.
 */
export async function measurePreemption(
  bench: TrialBench,
  trials: number,
  concurrency: number,
  /** The first round's spacing and the pools (pairedTrials). */
  plan: TrialPlan = {},
  /** Each trial's lease is `<prefix>-<i>`: the control runs on leases of its own, not the figure's. */
  prefix = 'preempt',
): Promise<PreemptionResult> {
  const parts = { ours: emptyParts(), baseline: emptyParts() };
  const totals = await pairedTrials(
    bench,
    trials,
    concurrency,
    (plane, lease) => preemptOnce(bench, plane, lease, plane === bench.inTree ? parts.baseline : parts.ours),
    prefix,
    plan,
  );
  return { ...totals, parts, concurrency };
}

function emptyParts(): PreemptionParts {
  return { decide: [], register: [], yield: [], takeover: [], poll: [] };
}

async function preemptOnce(
  bench: TrialBench,
  plane: ControlPlane,
  lease: string,
  parts: PreemptionParts,
): Promise<number> {
  const incumbent = spawnCandidate(bench, plane, `${lease}-new`, lease, ['1.35.0', '1.35.0']);
  const processes = [incumbent];
  const watch = bench.watches.get(plane.name);
  try {
    await leads(incumbent);
    const startedAt = Date.now();
    const older = spawnCandidate(bench, plane, `${lease}-old`, lease, ['1.35.0', '1.34.0']);
    processes.push(older);
    const registered = bench.candidateWatches?.get(plane.name)?.waitFor(older.identity, () => true);
    const preferred = watch?.waitFor(
      lease,
      (v) => v.preferredHolder === older.identity || v.holderIdentity === older.identity,
    );
    const letGo = watch?.waitFor(lease, (v) => v.holderIdentity !== incumbent.identity);
    const named = watch?.waitFor(lease, (v) => v.holderIdentity === older.identity);
    const led = await leads(older);
    const [registeredAt, preferredAt, letGoAt, namedAt] = await Promise.all([
      registered,
      preferred,
      letGo,
      named,
    ]);
    if (preferredAt !== undefined && letGoAt !== undefined && namedAt !== undefined) {
      parts.decide.push(preferredAt - startedAt);
      if (registeredAt !== undefined) parts.register?.push(registeredAt - startedAt);
      parts.yield.push(letGoAt - preferredAt);
      parts.takeover.push(namedAt - letGoAt);
      parts.poll.push(led - namedAt);
    }
    return led - startedAt;
  } finally {
    await cleanUp(plane, processes);
  }
}
