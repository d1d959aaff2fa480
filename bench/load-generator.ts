import { performance } from 'node:perf_hooks';
import { classify, type KeepAliveClient, type Outcome } from './load-client.js';
import { LatencyHistogram } from './load-stats.js';

export const LOAD_CLUSTER = 'load';
export const LOAD_NAMESPACE = 'kube-system';
export const CANDIDATES_PER_LEASE = 3;
export const HEARTBEAT_PATH = `/clusters/${LOAD_CLUSTER}/leasecandidates`;

export function leaseNameOf(candidate: number): string {
  return `load-${String(Math.floor(candidate / CANDIDATES_PER_LEASE)).padStart(4, '0')}`;
}

export function candidateNameOf(candidate: number): string {
  return `${leaseNameOf(candidate)}-${candidate % CANDIDATES_PER_LEASE}`;
}

/** The body of test/helpers/local-stack.ts candidate(), split around renewTime so each beat only fills it in. */
export function bodyAround(candidate: number): [string, string] {
  const marker = '__RENEW__';
  const text = JSON.stringify({
    apiVersion: 'coordination.k8s.io/v1beta1',
    kind: 'LeaseCandidate',
    metadata: { name: candidateNameOf(candidate), namespace: LOAD_NAMESPACE },
    spec: {
      leaseName: leaseNameOf(candidate),
      binaryVersion: '1.34.0',
      // One emulation version per slot, so every lease has one clear best candidate.
      emulationVersion: `1.${32 + (candidate % CANDIDATES_PER_LEASE)}.0`,
      strategy: 'OldestEmulationVersion',
      renewTime: marker,
    },
  });
  const at = text.indexOf(marker);
  return [text.slice(0, at), text.slice(at + marker.length)];
}

/** A renewTime newer than any the candidate has sent, as a candidate's clock gives it. */
export function nextRenewTime(lastSent: Float64Array, candidate: number): number {
  const renewTime = Math.max(Date.now(), (lastSent[candidate] ?? 0) + 1);
  lastSent[candidate] = renewTime;
  return renewTime;
}

export interface GeneratorCounts {
  readonly byStatus: Map<number, number>;
  readonly byOutcome: Record<Outcome, number>;
  /** Beats that fell due while the same candidate's previous beat was still waiting to be sent. */
  coalesced: number;
  sent: number;
  readonly networkErrors: string[];
}

/**
 * Sends each candidate's heartbeat on an even schedule: beat k (candidate k mod N) falls due at
 * t0 + k / (N * rate) seconds, so the load is a steady stream, not a burst per second. Like a real
 * candidate, each one has at most one heartbeat in flight; a beat that falls due while the previous
 * one is in flight is sent as soon as it returns, and further beats due meanwhile are coalesced.
 */
export class HeartbeatGenerator {
  readonly latency = new LatencyHistogram();
  /** How late each beat left against its slot: shows whether the sender itself kept up. */
  readonly sendDelay = new LatencyHistogram();
  readonly sentPerSecond: Uint32Array;
  readonly okPerSecond: Uint32Array;
  /** The renewTime of each candidate's newest heartbeat answered 2xx (0: none). */
  readonly lastAcked: Float64Array;
  /**
   * The renewTime of each candidate's newest heartbeat sent, whichever way: the table-alone phases
   * (load-baseline.ts) write the same candidates and take their renewTimes from here too.
   */
  readonly lastSent: Float64Array;
  readonly counts: GeneratorCounts = {
    byStatus: new Map(),
    byOutcome: { ok: 0, conflict: 0, 'client-error': 0, 'server-error': 0, 'network-error': 0 },
    coalesced: 0,
    sent: 0,
    networkErrors: [],
  };
  private readonly inFlight: Uint8Array;
  private readonly pendingDue: Float64Array;
  private readonly bodies: [string, string][];
  private readonly intervalMs: number;
  private readonly totalBeats: number;
  private next = 0;
  private inFlightCount = 0;
  private pendingCount = 0;
  private t0 = 0;
  private finished: (() => void) | undefined;

  constructor(
    private readonly client: KeepAliveClient,
    private readonly candidates: number,
    ratePerCandidate: number,
    private readonly durationSeconds: number,
  ) {
    this.intervalMs = 1000 / (candidates * ratePerCandidate);
    this.totalBeats = candidates * ratePerCandidate * durationSeconds;
    this.sentPerSecond = new Uint32Array(durationSeconds + 600);
    this.okPerSecond = new Uint32Array(durationSeconds + 600);
    this.lastAcked = new Float64Array(candidates);
    this.lastSent = new Float64Array(candidates);
    this.inFlight = new Uint8Array(candidates);
    this.pendingDue = new Float64Array(candidates).fill(-1);
    this.bodies = Array.from({ length: candidates }, (_, i) => bodyAround(i));
  }

  get startedAt(): number {
    return this.t0;
  }

  get inFlightNow(): number {
    return this.inFlightCount;
  }

  /** Runs the whole schedule; resolves once every beat was sent and answered. */
  run(): Promise<void> {
    this.t0 = performance.now();
    const done = new Promise<void>((resolve) => {
      this.finished = resolve;
    });
    this.tick();
    return done;
  }

  private tick = (): void => {
    const now = performance.now();
    while (this.next < this.totalBeats && this.t0 + this.next * this.intervalMs <= now) {
      this.fire(this.next % this.candidates, this.t0 + this.next * this.intervalMs);
      this.next++;
    }
    if (this.next < this.totalBeats) setTimeout(this.tick, 1);
    else this.checkDone();
  };

  private fire(candidate: number, due: number): void {
    if (this.inFlight[candidate] === 0) {
      this.send(candidate, due);
    } else if ((this.pendingDue[candidate] ?? -1) < 0) {
      this.pendingDue[candidate] = due;
      this.pendingCount++;
    } else {
      this.counts.coalesced++;
    }
  }

  private send(candidate: number, due: number): void {
    const start = performance.now();
    const renewTime = nextRenewTime(this.lastSent, candidate);
    this.inFlight[candidate] = 1;
    this.inFlightCount++;
    this.counts.sent++;
    this.sendDelay.record(start - due);
    const second = this.secondOf(start);
    this.sentPerSecond[second] = (this.sentPerSecond[second] ?? 0) + 1;
    const [head, tail] = this.bodies[candidate] ?? ['', ''];
    void this.client
      .post(HEARTBEAT_PATH, `${head}${new Date(renewTime).toISOString()}${tail}`)
      .then(({ status, error }) => {
        const end = performance.now();
        this.latency.record(end - start);
        this.counts.byStatus.set(status, (this.counts.byStatus.get(status) ?? 0) + 1);
        const outcome = classify(status);
        this.counts.byOutcome[outcome]++;
        if (outcome === 'ok') {
          const at = this.secondOf(end);
          this.okPerSecond[at] = (this.okPerSecond[at] ?? 0) + 1;
          if (renewTime > (this.lastAcked[candidate] ?? 0)) this.lastAcked[candidate] = renewTime;
        }
        if (error !== undefined && this.counts.networkErrors.length < 10)
          this.counts.networkErrors.push(error.message);
        this.inFlight[candidate] = 0;
        this.inFlightCount--;
        const pending = this.pendingDue[candidate] ?? -1;
        if (pending >= 0) {
          this.pendingDue[candidate] = -1;
          this.pendingCount--;
          this.send(candidate, pending);
        }
        this.checkDone();
      });
  }

  private secondOf(at: number): number {
    return Math.min(this.sentPerSecond.length - 1, Math.max(0, Math.floor((at - this.t0) / 1000)));
  }

  private checkDone(): void {
    if (this.next >= this.totalBeats && this.inFlightCount === 0 && this.pendingCount === 0) {
      this.finished?.();
      this.finished = undefined;
    }
  }

  get durationMs(): number {
    return this.durationSeconds * 1000;
  }
}
