import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import { type KubeBench, propagationLease } from '../kube-env.js';
import { createCandidate, deleteCandidate } from '../kube-objects.js';

/**
 * Cross-cluster propagation: a decision is recorded in the table (its updatedAt, our clock) →
 * every one of the N clusters' Leases shows the holder (the last watch event to arrive).
 */
export async function measurePropagation(
  bench: KubeBench,
  sizes: readonly number[],
  trials: number,
): Promise<Map<number, number[]>> {
  const results = new Map<number, number[]>(sizes.map((n) => [n, []]));
  const first = bench.ours[0] as ControlPlane;
  for (let trial = 0; trial < trials; trial++) {
    for (const n of sizes) {
      const lease = propagationLease(n, trial);
      const holder = `${lease}-a`;
      const shown = bench.ours
        .slice(0, n)
        .map((plane) => bench.watches.get(plane.name)?.waitFor(lease, (l) => l.holderIdentity === holder));
      await createCandidate(first, holder, lease, { binary: '1.35.0', emulation: '1.35.0' });
      const allShown = Math.max(...(await Promise.all(shown)).map(Number));
      results.get(n)?.push(allShown - (await bench.decidedAt(lease)));
      await deleteCandidate(first, holder);
    }
  }
  return results;
}
