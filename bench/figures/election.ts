import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import type { TrialBench } from '../kube-env.js';
import { createCandidate, deleteCandidate } from '../kube-objects.js';

export interface PairedSamples {
  readonly ours: number[];
  readonly baseline: number[];
}

/**
 * Election latency: a LeaseCandidate is created → the Lease shows it as holder, timed by this
 * process (the create is sent at t0; the Lease watch event arrives at t1). Trials alternate
 * between our apiserver and the in-tree one so both see the same machine load.
 */
export async function measureElection(bench: TrialBench, trials: number): Promise<PairedSamples> {
  const ours: number[] = [];
  const baseline: number[] = [];
  const ourPlane = bench.ours[0] as ControlPlane;
  // One warm-up trial each, not counted: the first pays for JIT and new connections on both sides.
  await electOnce(bench, ourPlane, 'elect-warmup');
  await electOnce(bench, bench.inTree, 'elect-warmup');
  for (let trial = 0; trial < trials; trial++) {
    ours.push(await electOnce(bench, ourPlane, `elect-${trial}`));
    baseline.push(await electOnce(bench, bench.inTree, `elect-${trial}`));
  }
  return { ours, baseline };
}

async function electOnce(bench: TrialBench, plane: ControlPlane, lease: string): Promise<number> {
  const watch = bench.watches.get(plane.name);
  if (watch === undefined) throw new Error(`no watch on ${plane.name}`);
  const name = `${lease}-a`;
  const shown = watch.waitFor(lease, (l) => l.holderIdentity === name);
  const t0 = Date.now();
  await createCandidate(plane, name, lease, { binary: '1.35.0', emulation: '1.35.0' });
  const t1 = await shown;
  // No process renews these: remove the candidate so neither coordinator keeps pinging it.
  await deleteCandidate(plane, name);
  return t1 - t0;
}
