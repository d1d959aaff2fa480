import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpCallersConfig } from '../../lib/clusters/config.js';
import { overlaps, until } from '../../lib/harness/candidates.js';
import type { ControlPlane, Gate } from '../../lib/kube-local/control-plane.js';
import { type CandidatePod, CandidatePods } from './candidate-pods.js';
import { HttpCandidate } from './http-candidate.js';
import { LeaseWatch } from './lease-watch.js';

/**
 * A candidate that heartbeats and holds over HTTP, in a cluster that is a real kube-apiserver (its
 * clusters config gives it both a kubeconfig and `httpCallers`), beside client-go electors there:
 * the Lease in that cluster is the one they read, so it has to show the HTTP holder as live for as
 * long as it renews, and name the next holder only after it has let go.
 */
const LEASE_DURATION_S = 5;
const TIMINGS = [`--lease-duration=${LEASE_DURATION_S}s`, '--renew-deadline=3s', '--retry-period=500ms'];
const LEASE = 'http-held';
const TOKEN = 'http-holder-e2e-token';

/** One cluster, alpha, whose HTTP callers present TOKEN, and the coordinator over it. */
export interface HttpHolderStack {
  readonly planes: readonly ControlPlane[];
  readonly candidateBinary: string;
  readonly adminKubeconfig: string;
  readonly coordinator: { readonly url: string };
  stop(): Promise<void>;
}

export interface HttpHolderRuntime {
  /** Named in the describe title. */
  readonly name: string;
  start(gate: Gate, httpCallers: Readonly<Record<string, HttpCallersConfig>>): Promise<HttpHolderStack>;
}

/** The scenarios, against one runtime (the sources in-process, or the packaged bundles), in a cluster of `gate`. */
export function describeHttpHolder(runtime: HttpHolderRuntime, gate: Gate): void {
  describe(`an HTTP holder in a Kubernetes cluster, gate ${gate} (e2e: ${runtime.name} + kube-apiserver + client-go electors)`, () => {
    let clusters: HttpHolderStack;
    let pods: CandidatePods;
    let leases: LeaseWatch<'alpha'>;
    const https: HttpCandidate[] = [];
    let alpha: ControlPlane;
    let older: CandidatePod;

    /** A candidate over HTTP in alpha, with the client-go electors' timings. */
    const httpCandidate = (identity: string, emulationVersion: string) => {
      const candidate = new HttpCandidate({
        identity,
        url: clusters.coordinator.url,
        token: TOKEN,
        cluster: 'alpha',
        namespace: 'default',
        lease: LEASE,
        versions: ['1.35.0', emulationVersion],
        leaseDurationSeconds: LEASE_DURATION_S,
        renewDeadlineMs: 3000,
        retryPeriodMs: 500,
      });
      https.push(candidate);
      return candidate;
    };

    beforeAll(async () => {
      clusters = await runtime.start(gate, {
        alpha: { tokenSha256: [createHash('sha256').update(TOKEN).digest('hex')] },
      });
      alpha = clusters.planes[0] as ControlPlane;
      pods = new CandidatePods(clusters, TIMINGS);
      leases = await LeaseWatch.start(clusters.adminKubeconfig, ['alpha'], LEASE);
    }, 600_000);

    afterAll(async () => {
      await Promise.all(https.map((c) => c.stop()));
      leases?.stop();
      await pods?.stopAll();
      await clusters?.stop();
    });

    it('1. elects it, and its renewals keep the Lease in its cluster live: a legacy elector there never takes it', async () => {
      const http = httpCandidate('http-a', '1.35.0');
      await until([http], () => http.leading);
      await leases.until(() => leases.events.alpha.some((e) => e.holder === 'http-a'));
      const named = leases.events.alpha.findIndex((e) => e.holder === 'http-a');

      const legacy = await pods.start({
        identity: 'legacy',
        cluster: alpha,
        lease: LEASE,
        versions: ['1.35.0', '1.35.0'],
        registration: 'legacy',
      });
      // Three lease durations of renewals, all over HTTP: a Lease left as the election wrote it
      // runs out after the first, and the legacy elector takes it at its next retry.
      const from = http.renewals;
      await until(
        [http, legacy],
        () => !http.leading || http.renewals >= from + (3 * LEASE_DURATION_S * 1000) / 500,
      );

      expect(overlaps([http, legacy])).toEqual([]);
      expect(legacy.intervals).toEqual([]);
      expect(http.intervals).toHaveLength(1);
      expect(http.leading).toBe(true);
      const shown = leases.events.alpha.slice(named);
      expect(shown.filter((e) => e.holder !== 'http-a').map((e) => e.holder)).toEqual([]);
      const renewedFor = Date.parse(shown.at(-1)?.renewTime ?? '') - Date.parse(shown[0]?.renewTime ?? '');
      expect(renewedFor).toBeGreaterThan(2 * LEASE_DURATION_S * 1000);
      await legacy.stop();
    }, 120_000);

    it('2. a better client-go candidate preempts it: the holder reads the preference in a renewal, releases, and the candidate leads only after', async () => {
      const http = https[0] as HttpCandidate;
      older = await pods.start({
        identity: 'older',
        cluster: alpha,
        lease: LEASE,
        versions: ['1.35.0', '1.34.0'],
      });
      await until([http, older], () => older.leading);

      expect(overlaps([http, older])).toEqual([]);
      expect(http.intervals).toHaveLength(1);
      expect(http.releasedAt).toBeDefined();
      expect(older.intervals).toHaveLength(1);
      // In the cluster, nobody but the two held it, and the handover went through no other holder.
      // Nor through our revoke, even where the gate is off: the HTTP holder is asked in our answers.
      const holders = leases.events.alpha.map((e) => e.holder).filter((h, i, all) => h !== all[i - 1]);
      expect(holders.filter((h) => !['http-a', 'older', ''].includes(h))).toEqual([]);
      expect(holders.at(-1)).toBe('older');
    }, 120_000);

    it('3. an HTTP candidate better still preempts that client-go holder; cut off, it stops at its renew deadline, and the holder before it leads again only after its lease ran out', async () => {
      const oldest = httpCandidate('http-b', '1.33.0');
      await until([oldest, older], () => oldest.leading);
      expect(overlaps([oldest, older])).toEqual([]);
      expect(older.intervals).toHaveLength(1);

      oldest.cutOff();
      await until([oldest, older], () => older.leading);

      expect(overlaps([oldest, older])).toEqual([]);
      expect(oldest.intervals).toHaveLength(1);
      // The coordinator took the renewal after it was sent, and named nobody before it ran out.
      const ranOut = oldest.lastRenewalSentAt + LEASE_DURATION_S * 1000;
      expect(older.intervals[1]?.start).toBeGreaterThanOrEqual(ranOut);
    }, 120_000);
  });
}
