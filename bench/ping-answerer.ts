import pLimit from 'p-limit';
import type { ControlPlane } from '../lib/kube-local/control-plane.js';
import { renewCandidate } from './kube-objects.js';
import { LeaseWatch } from './lease-watch.js';

/** Renewals in flight at once: the answers share the apiserver with the setup they serve. */
const ANSWERS_IN_FLIGHT = 8;

/**
 * Answers the coordinator's pings of the bench's LeaseCandidates as each candidate's client-go
 * process would: a candidate whose pingTime is after its renewTime renews. The bench's candidates
 * are objects with no process; unanswered, every 15-minute refresh ping (upstream's rule) turns
 * into an expiry and a removal, and a setup that lasts longer than that (10,000 leases) spends its
 * time on them.
 */
export class PingAnswerer {
  private readonly watch: LeaseWatch;
  private readonly answering = new Set<string>();
  private readonly limit = pLimit(ANSWERS_IN_FLIGHT);
  private readonly unsubscribe: () => void;
  private failures = 0;
  /** Pings answered so far. */
  answered = 0;

  constructor(
    private readonly plane: ControlPlane,
    private readonly prefix: string,
  ) {
    this.watch = new LeaseWatch(plane, 'default', 'leasecandidates');
    this.unsubscribe = this.watch.onView(({ name, pingTime, renewTime }) => {
      if (!name.startsWith(this.prefix) || pingTime === undefined) return;
      if (renewTime !== undefined && renewTime >= pingTime) return;
      this.answer(name);
    });
    this.watch.start();
  }

  /** Renewals that failed (the next ping is answered again): shown in the bench's progress lines. */
  get failed(): number {
    return this.failures;
  }

  stop(): void {
    this.unsubscribe();
    this.watch.stop();
  }

  private answer(name: string): void {
    if (this.answering.has(name)) return;
    this.answering.add(name);
    void this.limit(() => renewCandidate(this.plane, name))
      .then(
        () => this.answered++,
        () => this.failures++,
      )
      .finally(() => this.answering.delete(name));
  }
}
