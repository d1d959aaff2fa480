import { performance } from 'node:perf_hooks';
import type { KeepAliveClient } from './load-client.js';
import {
  CANDIDATES_PER_LEASE,
  candidateNameOf,
  LOAD_CLUSTER,
  LOAD_NAMESPACE,
  leaseNameOf,
} from './load-generator.js';

/** As client-go's leader renews (RetryPeriod 2 s, LeaseDuration 15 s, kube-scheduler's defaults). */
export const RENEW_LEASE_DURATION_SECONDS = 15;

export interface RenewalCounts {
  sent: number;
  /** 200: the holder renewed. */
  ok: number;
  /** 409: the candidate is not (yet) the holder, e.g. before the first decision. */
  notHolder: number;
  other: number;
}

/**
 * Each lease's leader renews it over the holder API while the heartbeats run, as a real leader
 * renews its Lease: without this every lease runs out 5 s after each decision and is elected
 * again, a storm no real fleet makes. The leader is the candidate in slot 0, whose emulation
 * version is the oldest (load-generator.ts), so it wins every election. Renewals are spread
 * evenly over the period, one in flight per lease at most.
 */
export class LeaseRenewer {
  readonly counts: RenewalCounts = { sent: 0, ok: 0, notHolder: 0, other: 0 };
  private readonly inFlight: Uint8Array;
  private readonly intervalMs: number;
  private inFlightCount = 0;
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private settled: (() => void) | undefined;
  private t0 = 0;
  private readonly body = JSON.stringify({ leaseDurationSeconds: RENEW_LEASE_DURATION_SECONDS });

  constructor(
    private readonly client: KeepAliveClient,
    private readonly leases: number,
    everySeconds: number,
  ) {
    this.intervalMs = (everySeconds * 1000) / leases;
    this.inFlight = new Uint8Array(leases);
  }

  start(now: number): void {
    this.t0 = now;
    this.tick();
  }

  /** Stops renewing; resolves once no renewal is in flight. */
  stop(): Promise<void> {
    clearTimeout(this.timer);
    this.stopped = true;
    if (this.inFlightCount === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.settled = resolve;
    });
  }

  private tick = (): void => {
    if (this.stopped) return;
    const now = performance.now();
    while (this.t0 + this.next * this.intervalMs <= now) {
      this.renew(this.next % this.leases);
      this.next++;
    }
    this.timer = setTimeout(this.tick, 5);
  };

  private renew(lease: number): void {
    if (this.inFlight[lease] === 1) return;
    this.inFlight[lease] = 1;
    this.inFlightCount++;
    this.counts.sent++;
    const leader = candidateNameOf(lease * CANDIDATES_PER_LEASE);
    const path = `/clusters/${LOAD_CLUSTER}/namespaces/${LOAD_NAMESPACE}/leases/${leaseNameOf(lease * CANDIDATES_PER_LEASE)}/holder/${leader}`;
    void this.client.send('PUT', path, this.body).then(({ status }) => {
      this.inFlight[lease] = 0;
      this.inFlightCount--;
      if (status === 200) this.counts.ok++;
      else if (status === 409) this.counts.notHolder++;
      else this.counts.other++;
      if (this.stopped && this.inFlightCount === 0) this.settled?.();
    });
  }
}
