import { formatMicroTime } from '../../lib/api/time.js';
import type { Elector } from '../../lib/harness/candidates.js';

export interface HttpCandidateSpec {
  readonly identity: string;
  /** The coordinator's HTTP API (`LocalCoordinator.url`). */
  readonly url: string;
  /** A bearer token the cluster's `httpCallers` name. */
  readonly token: string;
  readonly cluster: string;
  readonly namespace: string;
  readonly lease: string;
  /** binary version, emulation version */
  readonly versions: readonly [string, string];
  /** client-go's timings, in the same roles: the lease asked for, the renew deadline, the retry period. */
  readonly leaseDurationSeconds: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

interface LeaseAnswer {
  readonly status: number;
  readonly spec?: { holderIdentity?: string; preferredHolder?: string; renewTime?: string };
}

/**
 * A candidate that reaches the coordinator only over HTTP (docs/http-api.md), written as a careful
 * client of that API would be, in client-go's roles: every retry period it heartbeats its
 * LeaseCandidate (which answers any ping) and then, as holder, renews, or, as a candidate, reads
 * the decided Lease. It leads from the read that names it; it stops leading when a renewal is
 * refused, when none has succeeded within the renew deadline (shorter than the lease), and when a
 * renewal's answer prefers another, in which case it releases after it has stopped. Its intervals
 * are what `overlaps` compares with client-go's own.
 */
export class HttpCandidate implements Elector {
  readonly intervals: { start: number; end: number }[] = [];
  /** Renewals the coordinator accepted, counted: tests wait on them. */
  renewals = 0;
  /** When its release was answered, if it released. */
  releasedAt: number | undefined;
  private lastRenewalSent = 0;
  private running = true;
  private cut = false;
  private readonly waiters: (() => void)[] = [];
  private readonly loop: Promise<void>;
  private readonly leasePath: string;

  constructor(private readonly spec: HttpCandidateSpec) {
    this.leasePath = `/clusters/${spec.cluster}/namespaces/${spec.namespace}/leases/${spec.lease}`;
    this.loop = this.run();
  }

  get identity(): string {
    return this.spec.identity;
  }

  get leading(): boolean {
    return this.intervals.at(-1)?.end === Number.POSITIVE_INFINITY;
  }

  nextEvent(): Promise<void> {
    return new Promise((wake) => this.waiters.push(wake));
  }

  /** When its last renewal the coordinator accepted was sent. */
  get lastRenewalSentAt(): number {
    return this.lastRenewalSent;
  }

  /** From now on none of its requests reaches the coordinator (a network partition); it runs on. */
  cutOff(): void {
    this.cut = true;
  }

  /** Stops its loop; a holder releases first, as client-go's ReleaseOnCancel does. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    if (this.leading) {
      this.stopLeading();
      // One cut off cannot release: its lease runs out instead.
      await this.release().catch(() => undefined);
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      const tick = Date.now();
      await this.round().catch(() => undefined);
      this.notify();
      const wait = tick + this.spec.retryPeriodMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  private async round(): Promise<void> {
    // First, whatever its requests do: a holder cut off stops leading at its renew deadline.
    if (this.leading && Date.now() > this.lastRenewalSent + this.spec.renewDeadlineMs) this.stopLeading();
    await this.heartbeat();
    if (!this.leading) {
      const lease = await this.call('GET', this.leasePath);
      if (lease.status === 200 && lease.spec?.holderIdentity === this.identity)
        this.startLeading(Date.parse(lease.spec.renewTime ?? ''));
      return;
    }
    const sent = Date.now();
    const renewed = await this.call('PUT', `${this.leasePath}/holder/${this.identity}`, {
      leaseDurationSeconds: this.spec.leaseDurationSeconds,
    });
    if (renewed.status !== 200) {
      // Refused (409: it no longer holds the lease) or failed: not renewed. A refusal ends it at once.
      if (renewed.status === 409) this.stopLeading();
      return;
    }
    this.lastRenewalSent = sent;
    this.renewals++;
    const preferred = renewed.spec?.preferredHolder;
    if (preferred !== undefined && preferred !== '' && preferred !== this.identity) {
      this.stopLeading();
      await this.release();
    }
  }

  /** Its renew deadline counts from the decision's renewTime (`renewedAt`), as if it had renewed then. */
  private startLeading(renewedAt: number): void {
    this.lastRenewalSent = Number.isNaN(renewedAt) ? Date.now() : Math.min(renewedAt, Date.now());
    this.intervals.push({ start: Date.now(), end: Number.POSITIVE_INFINITY });
  }

  private stopLeading(): void {
    const last = this.intervals.at(-1);
    if (last !== undefined && last.end === Number.POSITIVE_INFINITY) last.end = Date.now();
  }

  private async release(): Promise<void> {
    const released = await this.call('DELETE', `${this.leasePath}/holder/${this.identity}`);
    if (released.status === 200) this.releasedAt = Date.now();
  }

  private heartbeat(): Promise<LeaseAnswer> {
    const [binaryVersion, emulationVersion] = this.spec.versions;
    return this.call('POST', `/clusters/${this.spec.cluster}/leasecandidates`, {
      apiVersion: 'coordination.k8s.io/v1beta1',
      kind: 'LeaseCandidate',
      metadata: { name: this.identity, namespace: this.spec.namespace },
      spec: {
        leaseName: this.spec.lease,
        binaryVersion,
        emulationVersion,
        strategy: 'OldestEmulationVersion',
        renewTime: formatMicroTime(Date.now()),
      },
    });
  }

  private async call(method: string, path: string, body?: unknown): Promise<LeaseAnswer> {
    if (this.cut) throw new Error(`${this.identity} is cut off from the coordinator`);
    const response = await fetch(`${this.spec.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.spec.token}`, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.spec.retryPeriodMs * 2),
    });
    const answer = (await response.json().catch(() => ({}))) as { spec?: LeaseAnswer['spec'] };
    return { status: response.status, ...(answer.spec !== undefined && { spec: answer.spec }) };
  }

  private notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}
