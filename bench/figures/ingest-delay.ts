import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import type { KubeBench } from '../kube-env.js';
import { createCandidate, deleteCandidate, renewCandidate } from '../kube-objects.js';

/**
 * Ingest delay: a LeaseCandidate renewal is sent to the apiserver → ingest has stored it (the
 * stored item's renewedAt, stamped by the coordinator's clock at the write). One renewal at a
 * time, so the figure is the path's own delay, not a queue's.
 */
export async function measureIngestDelay(bench: KubeBench, trials: number): Promise<number[]> {
  const plane = bench.ours[0] as ControlPlane;
  const name = 'ingest-delay-a';
  const stored = (change: 'spec' | 'renew') =>
    new Promise<number>((resolve) => {
      const stop = bench.onRecord((record) => {
        const image = record.dynamodb?.NewImage;
        if (image?.change?.S !== change || !image.sk?.S?.endsWith(`#${name}`)) return;
        stop();
        resolve(Number(image.renewedAt?.N));
      });
    });
  const registered = stored('spec');
  await createCandidate(plane, name, 'ingest-delay', { binary: '1.35.0', emulation: '1.35.0' });
  await registered;
  const samples: number[] = [];
  try {
    for (let trial = 0; trial < trials; trial++) {
      const renewed = stored('renew');
      const sent = Date.now();
      await renewCandidate(plane, name);
      samples.push((await renewed) - sent);
    }
  } finally {
    await deleteCandidate(plane, name);
  }
  return samples;
}
