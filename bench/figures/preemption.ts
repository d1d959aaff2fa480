import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import type { KubeBench } from '../kube-env.js';
import { cleanUp, leads, pairedTrials, spawnCandidate } from './processes.js';

/**
 * Preemption: a process with an older emulation version starts while another leads → it leads
 * (the coordinator sets preferredHolder, the holder releases, the better one is elected). Timed
 * from the new process's start to its own OnStartedLeading.
 */
export function measurePreemption(bench: KubeBench, trials: number, concurrency: number) {
  return pairedTrials(
    bench,
    trials,
    concurrency,
    (plane, lease) => preemptOnce(bench, plane, lease),
    'preempt',
  );
}

async function preemptOnce(bench: KubeBench, plane: ControlPlane, lease: string): Promise<number> {
  const incumbent = spawnCandidate(bench, plane, `${lease}-new`, lease, ['1.35.0', '1.35.0']);
  const processes = [incumbent];
  try {
    await leads(incumbent);
    const startedAt = Date.now();
    const older = spawnCandidate(bench, plane, `${lease}-old`, lease, ['1.35.0', '1.34.0']);
    processes.push(older);
    return (await leads(older)) - startedAt;
  } finally {
    await cleanUp(plane, processes);
  }
}
