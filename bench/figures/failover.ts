import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import type { BusySeries } from '../busy-sampler.js';
import type { TrialBench } from '../kube-env.js';
import {
  candidateExists,
  cleanUp,
  LEASE_DURATION_MS,
  leads,
  pairedTrials,
  spawnCandidate,
  type TrialPlan,
} from './processes.js';

/** Where one failover's time went, split at the dead leader's lease running out and at the Lease naming the next. */
export interface FailoverParts {
  /** Kill → the dead leader's lease runs out (its last renewal + leaseDuration): physics. */
  readonly untilExpiry: number[];
  /** Lease runs out → the Lease names the next leader: the coordinator's share. */
  readonly coordinator: number[];
  /** The Lease names the next leader → its OnStartedLeading: client-go's poll. */
  readonly poll: number[];
}

export interface FailoverResult {
  readonly ours: number[];
  readonly baseline: number[];
  readonly parts: { readonly ours: FailoverParts; readonly baseline: FailoverParts };
  /** Trials in flight at once per system (--concurrency); absent in runs saved before it was reported. */
  readonly concurrency?: number;
  /** The first round's starts spaced this far apart per system (--first-round-gap); absent, all at once. */
  readonly firstRoundGapMs?: number;
  /** How busy the bench's event loop and the machine were while the trials ran; absent in runs saved before it. */
  readonly busy?: BusySeries;
}

/**
 * Failover: the leader process is SIGKILLed (no release) → the next best process leads, by the
 * processes' own client-go callbacks. Both candidates are registered before the kill. Each trial
 * is also split in three from the Lease's own watch events (see FailoverParts).
 */
export async function measureFailover(
  bench: TrialBench,
  trials: number,
  concurrency: number,
  /** The first round's spacing (pairedTrials). */
  plan: TrialPlan = {},
): Promise<FailoverResult> {
  const parts = { ours: emptyParts(), baseline: emptyParts() };
  const totals = await pairedTrials(
    bench,
    trials,
    concurrency,
    (plane, lease) => failoverOnce(bench, plane, lease, plane === bench.inTree ? parts.baseline : parts.ours),
    'failover',
    plan,
  );
  return { ...totals, parts, concurrency };
}

function emptyParts(): FailoverParts {
  return { untilExpiry: [], coordinator: [], poll: [] };
}

async function failoverOnce(
  bench: TrialBench,
  plane: ControlPlane,
  lease: string,
  parts: FailoverParts,
): Promise<number> {
  const best = spawnCandidate(bench, plane, `${lease}-best`, lease, ['1.35.0', '1.34.0']);
  const next = spawnCandidate(bench, plane, `${lease}-next`, lease, ['1.35.0', '1.35.0']);
  const watch = bench.watches.get(plane.name);
  try {
    await leads(best);
    await candidateExists(plane, next.identity);
    const killedAt = best.kill();
    const shown = watch?.waitFor(lease, (view) => view.holderIdentity === next.identity);
    const led = await leads(next);
    const shownAt = await shown;
    const lastRenewal = watch?.lastRenewal(lease, best.identity);
    if (shownAt !== undefined && lastRenewal !== undefined) {
      const expiry = lastRenewal + LEASE_DURATION_MS;
      parts.untilExpiry.push(expiry - killedAt);
      parts.coordinator.push(shownAt - expiry);
      parts.poll.push(led - shownAt);
    }
    return led - killedAt;
  } finally {
    await cleanUp(plane, [best, next]);
  }
}
