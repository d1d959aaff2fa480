import type { LeaseKey } from '../coordinator/ports.js';
import { type CoordinatorDeps, reconcileLease } from '../coordinator/reconcile-lease.js';
import { type MirrorDeps, mirrorLease } from './mirror.js';

/**
 * Ingest's fast path: one reconcile step for a lease a cluster change touched, then the mirror
 * pass if the step wrote or pinged anything. Both are the same conditional steps `elect` and
 * `mirror` take from the stream, so running them here as well is safe (DESIGN.md rule 2); a
 * failure is only logged, since the stream delivers the same change to them regardless.
 */
export async function decideNow(deps: CoordinatorDeps, mirror: MirrorDeps, key: LeaseKey): Promise<void> {
  try {
    const step = await reconcileLease(deps, key);
    if (step.write !== null || step.ping.length > 0) await mirrorLease(mirror, key);
  } catch (error) {
    deps.logger.warn('fast path failed; the stream will decide', { lease: key, error: error as Error });
  }
}
