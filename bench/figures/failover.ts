import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import type { KubeBench } from '../kube-env.js';
import { candidateExists, cleanUp, leads, pairedTrials, spawnCandidate } from './processes.js';

/**
 * Failover: the leader process is SIGKILLed (no release) → the next best process leads, by the
 * processes' own client-go callbacks. Both candidates are registered before the kill.
 */
export function measureFailover(bench: KubeBench, trials: number, concurrency: number) {
  return pairedTrials(
    bench,
    trials,
    concurrency,
    (plane, lease) => failoverOnce(bench, plane, lease),
    'failover',
  );
}

async function failoverOnce(bench: KubeBench, plane: ControlPlane, lease: string): Promise<number> {
  const best = spawnCandidate(bench, plane, `${lease}-best`, lease, ['1.35.0', '1.34.0']);
  const next = spawnCandidate(bench, plane, `${lease}-next`, lease, ['1.35.0', '1.35.0']);
  try {
    await leads(best);
    await candidateExists(plane, next.identity);
    const killedAt = best.kill();
    return (await leads(next)) - killedAt;
  } finally {
    await cleanUp(plane, [best, next]);
  }
}
