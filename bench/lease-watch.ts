import { request } from 'node:https';
import { PREFERRED_HOLDER_ANNOTATION } from '../lib/api/lease.js';
import type { ControlPlane } from '../lib/kube-local/control-plane.js';

export interface LeaseView {
  readonly name: string;
  readonly holderIdentity: string | undefined;
  readonly preferredHolder: string | undefined;
  /** The preference as an annotation: what a gate-off cluster keeps of it (it drops spec.preferredHolder). */
  readonly preferredAnnotation: string | undefined;
  readonly term: string | undefined;
  /** spec.renewTime in epoch ms (the writer's clock: here, the same machine). */
  readonly renewTime: number | undefined;
  /** A LeaseCandidate's spec.pingTime in epoch ms: when the coordinator last asked it to renew. */
  readonly pingTime: number | undefined;
}

interface Waiter {
  readonly name: string;
  readonly check: (lease: LeaseView) => boolean;
  readonly resolve: (at: number) => void;
}

/** What a watch lists: Leases, or LeaseCandidates (their renewTime and pingTime are read). */
const RESOURCES = {
  leases: 'coordination.k8s.io/v1',
  leasecandidates: 'coordination.k8s.io/v1beta1',
} as const;

/**
 * Watches every Lease in one namespace of one apiserver and stamps each event with this process's
 * clock as it arrives, so that "the Lease shows X" is timed by the observer, not by polling. On
 * `leasecandidates`, `waitFor(name, () => true)` is when a candidate's LeaseCandidate first shows.
 */
export class LeaseWatch {
  private readonly latest = new Map<string, LeaseView>();
  /** The last renewTime seen per lease and holder: when a failover's dead leader last renewed. */
  private readonly lastRenewals = new Map<string, number>();
  private waiters: Waiter[] = [];
  private readonly listeners = new Set<(view: LeaseView) => void>();
  private resourceVersion = '';
  private stopped = false;
  /** Counts the watch requests started: only the current one's end restarts the watch. */
  private generation = 0;
  private abort: (() => void) | undefined;

  constructor(
    private readonly plane: ControlPlane,
    private readonly namespace = 'default',
    private readonly resource: keyof typeof RESOURCES = 'leases',
  ) {}

  start(): void {
    const generation = this.generation;
    const path = `/apis/${RESOURCES[this.resource]}/namespaces/${this.namespace}/${this.resource}?watch=1&allowWatchBookmarks=true${
      this.resourceVersion === '' ? '' : `&resourceVersion=${this.resourceVersion}`
    }`;
    const req = request(
      `${this.plane.server}${path}`,
      { headers: { authorization: `Bearer ${this.plane.adminToken}` }, ca: this.plane.caData },
      (res) => {
        if (res.statusCode !== 200) {
          // A refused watch (a Status, not events): resumed from a fresh list.
          res.resume();
          this.resourceVersion = '';
          this.restart(generation);
          return;
        }
        let buffer = '';
        res.on('data', (chunk: Buffer) => {
          buffer += chunk.toString();
          let newline = buffer.indexOf('\n');
          while (newline >= 0) {
            this.onLine(buffer.slice(0, newline), Date.now());
            buffer = buffer.slice(newline + 1);
            newline = buffer.indexOf('\n');
          }
        });
        res.on('end', () => this.restart(generation));
        res.on('error', () => this.restart(generation));
      },
    );
    req.on('error', () => this.restart(generation));
    req.end();
    this.abort = () => req.destroy();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.();
  }

  /** Resolves with the arrival time of the first event (or the current state) that satisfies `check`. */
  waitFor(name: string, check: (lease: LeaseView) => boolean): Promise<number> {
    const current = this.latest.get(name);
    if (current !== undefined && check(current)) return Promise.resolve(Date.now());
    return new Promise((resolve) => this.waiters.push({ name, check, resolve }));
  }

  /** Calls `listener` with every object the watch sees from now on; returns how to stop. */
  onView(listener: (view: LeaseView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The last renewTime the watch saw `holder` write on the named Lease. */
  lastRenewal(name: string, holder: string): number | undefined {
    return this.lastRenewals.get(`${name}/${holder}`);
  }

  get(name: string): LeaseView | undefined {
    return this.latest.get(name);
  }

  private restart(generation: number): void {
    // The apiserver ends watches after a while; resume from the last version seen. A request that
    // both ends and errors restarts the watch once.
    if (this.stopped || generation !== this.generation) return;
    this.generation++;
    setTimeout(() => {
      if (!this.stopped) this.start();
    }, 100);
  }

  private onLine(line: string, at: number): void {
    if (line.trim() === '') return;
    const event = JSON.parse(line) as {
      type: string;
      object: {
        metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> };
        spec?: { holderIdentity?: string; preferredHolder?: string; renewTime?: string; pingTime?: string };
      };
    };
    const meta = event.object.metadata ?? {};
    if (meta.resourceVersion !== undefined) this.resourceVersion = meta.resourceVersion;
    if (event.type === 'ERROR') {
      this.resourceVersion = '';
      return;
    }
    if (event.type === 'BOOKMARK' || meta.name === undefined) return;
    if (event.type === 'DELETED') {
      this.latest.delete(meta.name);
      return;
    }
    const view: LeaseView = {
      name: meta.name,
      holderIdentity: event.object.spec?.holderIdentity,
      preferredHolder: event.object.spec?.preferredHolder,
      preferredAnnotation: meta.annotations?.[PREFERRED_HOLDER_ANNOTATION],
      term: meta.annotations?.['lease-coordinator.dev/term'],
      renewTime: epochMs(event.object.spec?.renewTime),
      pingTime: epochMs(event.object.spec?.pingTime),
    };
    this.latest.set(meta.name, view);
    if (view.holderIdentity && view.renewTime !== undefined)
      this.lastRenewals.set(`${view.name}/${view.holderIdentity}`, view.renewTime);
    const still: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.name === view.name && waiter.check(view)) waiter.resolve(at);
      else still.push(waiter);
    }
    this.waiters = still;
    for (const listener of this.listeners) listener(view);
  }
}

function epochMs(time: string | undefined): number | undefined {
  return time === undefined ? undefined : Date.parse(time);
}
