import pLimit from 'p-limit';
import pRetry from 'p-retry';
import type { ControlPlane } from '../lib/kube-local/control-plane.js';
import { renewCandidate } from './kube-objects.js';
import type { LeaseView, LeaseWatch } from './lease-watch.js';

/** Renewals in flight at once: the answers share the apiserver with the setup they serve. */
const ANSWERS_IN_FLIGHT = 8;

/**
 * Answers the coordinator's pings of the bench's LeaseCandidates as each candidate's client-go
 * process would: a candidate whose pingTime is after its renewTime renews. The bench's candidates
 * are objects with no process; unanswered, every 15-minute refresh ping (upstream's rule) turns
 * into an expiry and a removal, and a setup that lasts longer than that (10,000 leases) spends its
 * time on them. The coordinator pings a candidate once and waits, so an answer is never dropped:
 * it is retried, and a ping seen while its candidate's answer was under way is answered after it.
 */
export class PingAnswerer {
  private readonly answering = new Set<string>();
  private readonly limit = pLimit(ANSWERS_IN_FLIGHT);
  private readonly unsubscribe: () => void;
  private counts = { answered: 0, failed: 0 };

  /**
   * Answers the pings `watch` (the plane's LeaseCandidates, watched and started by the bench) shows
   * of candidates whose names start with `prefix`. The bench's own watch, not one more: each watch
   * of 30,000 candidates costs the apiserver and this process the same again.
   */
  constructor(
    private readonly plane: ControlPlane,
    private readonly watch: LeaseWatch,
    private readonly prefix: string,
  ) {
    this.unsubscribe = this.watch.onView((view) => {
      if (view.name.startsWith(this.prefix) && pinged(view)) this.answer(view.name);
    });
  }

  /** Pings answered so far. */
  get answered(): number {
    return this.counts.answered;
  }

  /** Answers that failed even when retried (the candidate is gone, or the apiserver kept refusing). */
  get failed(): number {
    return this.counts.failed;
  }

  stop(): void {
    this.unsubscribe();
  }

  private answer(name: string): void {
    if (this.answering.has(name)) return;
    this.answering.add(name);
    void this.limit(() => pRetry(() => renewCandidate(this.plane, name), { retries: 4, minTimeout: 500 }))
      .then(
        () => this.counts.answered++,
        () => this.counts.failed++,
      )
      .finally(() => {
        this.answering.delete(name);
        const latest = this.watch.get(name);
        if (latest !== undefined && pinged(latest)) this.answer(name);
      });
  }
}

/** Pinged after its last renewal: the coordinator waits for it to renew. */
function pinged({ pingTime, renewTime }: LeaseView): boolean {
  return pingTime !== undefined && (renewTime === undefined || pingTime > renewTime);
}
