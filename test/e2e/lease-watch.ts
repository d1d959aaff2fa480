import { Watch } from '@kubernetes/client-node';
import { expect } from 'vitest';
import { PREFERRED_HOLDER_ANNOTATION, REVOKED_HOLDER, TERM_ANNOTATION } from '../../lib/api/lease.js';
import { adminConfig } from '../../lib/harness/agent-process.js';

/** One watch event of a Lease, as the apiserver sent it. */
export interface LeaseEvent {
  readonly holder: string;
  readonly renewTime: string;
  readonly preferredAnnotation: string | undefined;
  /** spec.preferredHolder, where the cluster keeps it (the gate on). */
  readonly preferredHolder: string | undefined;
  /** Our term annotation, as the Lease carried it. */
  readonly term: string | undefined;
  /** When the watch delivered it (Date.now()). */
  readonly seenAt: number;
  readonly resourceVersion: string | undefined;
}

/**
 * Every watch event of one Lease in each of a set of clusters (one kubeconfig context per cluster,
 * named like it): what the apiservers themselves saw written, in order, whichever runtime wrote it.
 */
export class LeaseWatch<Cluster extends string> {
  readonly events: Record<Cluster, LeaseEvent[]>;
  private readonly watches: AbortController[] = [];
  private wake: (() => void)[] = [];

  private constructor(clusters: readonly Cluster[]) {
    this.events = Object.fromEntries(clusters.map((c) => [c, []])) as unknown as Record<
      Cluster,
      LeaseEvent[]
    >;
  }

  static async start<Cluster extends string>(
    adminKubeconfig: string,
    clusters: readonly Cluster[],
    lease: string,
    namespace = 'default',
  ): Promise<LeaseWatch<Cluster>> {
    const watch = new LeaseWatch(clusters);
    for (const cluster of clusters) await watch.watch(adminKubeconfig, cluster, namespace, lease);
    return watch;
  }

  /** Resolves at the next watch event in any of the clusters. */
  next(): Promise<void> {
    return new Promise<void>((resolve) => this.wake.push(resolve));
  }

  /** Waits, watch event by watch event, until `check` holds. */
  async until(check: () => boolean): Promise<void> {
    while (!check()) await this.next();
  }

  stop(): void {
    for (const w of this.watches) w.abort();
    this.wake = [];
  }

  private async watch(adminKubeconfig: string, cluster: Cluster, namespace: string, lease: string) {
    const config = adminConfig(adminKubeconfig);
    config.setCurrentContext(cluster);
    const controller = await new Watch(config).watch(
      `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`,
      { fieldSelector: `metadata.name=${lease}` },
      (
        _phase,
        object: {
          metadata?: { annotations?: Record<string, string>; resourceVersion?: string };
          spec?: Record<string, unknown>;
        },
      ) => {
        this.events[cluster].push({
          holder: String(object.spec?.holderIdentity ?? ''),
          renewTime: String(object.spec?.renewTime ?? ''),
          preferredAnnotation: object.metadata?.annotations?.[PREFERRED_HOLDER_ANNOTATION],
          preferredHolder:
            typeof object.spec?.preferredHolder === 'string' ? object.spec.preferredHolder : undefined,
          term: object.metadata?.annotations?.[TERM_ANNOTATION],
          seenAt: Date.now(),
          resourceVersion: object.metadata?.resourceVersion,
        });
        for (const w of this.wake.splice(0)) w();
      },
      () => undefined,
    );
    this.watches.push(controller);
  }
}

/**
 * A preemption by revoke, as the apiservers saw it from its start: in the holder's cluster (which
 * drops preferredHolder) the holder was taken off, with the preference annotated, and stayed off
 * under one stamp (the successor's wait counts from it) until the successor was named; the other
 * cluster named the holder until then, carried the preference as the annotation, and was never
 * revoked.
 */
export function expectPreemptedByRevoke(
  holderCluster: readonly LeaseEvent[],
  otherCluster: readonly LeaseEvent[],
  holder: string,
  successor: string,
): void {
  const revoked = holderCluster.findIndex((e) => e.holder === REVOKED_HOLDER);
  const named = holderCluster.findIndex((e) => e.holder === successor);
  expect(revoked).toBeGreaterThanOrEqual(0);
  expect(named).toBeGreaterThan(revoked);
  expect(holderCluster[revoked]?.preferredAnnotation).toBe(successor);
  const meanwhile = holderCluster.slice(revoked, named);
  expect(meanwhile.filter((e) => e.holder !== REVOKED_HOLDER)).toEqual([]);
  expect(new Set(meanwhile.map((e) => e.renewTime)).size).toBe(1);
  expect(otherCluster.some((e) => e.holder === holder && e.preferredAnnotation === successor)).toBe(true);
  expect(otherCluster.findIndex((e) => e.holder === REVOKED_HOLDER)).toBe(-1);
}
