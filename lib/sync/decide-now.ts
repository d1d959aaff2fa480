import pLimit from 'p-limit';
import type { LeaseKey } from '../coordinator/ports.js';
import { type CoordinatorDeps, reconcileLease } from '../coordinator/reconcile-lease.js';
import { partitionKey } from '../store/keys.js';
import { type MirrorDeps, mirrorLease } from './mirror.js';

/** Decisions in flight at once: enough to keep up with a burst of new candidates, few enough for a small Lambda. */
const CONCURRENCY = 8;

/**
 * Ingest's fast path: one reconcile step for a lease a cluster change touched, then the mirror
 * pass if the step wrote or pinged anything, so the Lease shows the outcome without waiting for
 * two stream polls. Both are the same conditional steps `elect` and `mirror` take from the stream,
 * so running them here as well is safe (DESIGN.md rule 2), and a failure is only logged: the
 * stream delivers the same change to them regardless.
 *
 * `schedule` never holds up its caller (ingest keeps one ordered queue per cluster, and a decision
 * per event there would cap ingest at a few events a second); calls for a lease that is already
 * being decided coalesce into one more pass after it.
 */
export class DecideNow {
  private readonly limit = pLimit(CONCURRENCY);
  private readonly running = new Map<string, { again: boolean }>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly deps: CoordinatorDeps,
    private readonly mirror: MirrorDeps,
  ) {}

  schedule(key: LeaseKey): void {
    const id = partitionKey(key);
    const current = this.running.get(id);
    if (current !== undefined) {
      current.again = true;
      return;
    }
    const state = { again: false };
    this.running.set(id, state);
    const run = this.limit(async () => {
      do {
        state.again = false;
        await this.decide(key);
      } while (state.again);
    }).finally(() => {
      this.running.delete(id);
      this.pending.delete(run);
    });
    this.pending.add(run);
  }

  /** Resolves once every scheduled decision has finished (before a Lambda invocation returns). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  private async decide(key: LeaseKey): Promise<void> {
    try {
      const step = await reconcileLease(this.deps, key);
      if (step.write !== null || step.ping.length > 0) await mirrorLease(this.mirror, key);
    } catch (error) {
      this.deps.logger.warn('fast path failed; the stream will decide', {
        lease: key,
        error: error as Error,
      });
    }
  }
}
