import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREFERRED_HOLDER_ANNOTATION, REVOKED_HOLDER } from '../../lib/api/lease.js';
import { AgentProcess, adminConfig } from '../../lib/harness/agent-process.js';
import { CandidateProcess, overlaps, until } from '../../lib/harness/candidates.js';
import {
  type CoordinatedClusters,
  startCoordinatedClusters,
} from '../../lib/harness/coordinated-clusters.js';
import type { GateChoice } from '../../lib/kube-local/local-clusters.js';
import { freePort } from '../../lib/local/dynamodb-local.js';
import { bundleAgent } from '../../scripts/bundle-agent.mjs';

/**
 * A lease group over two clusters as managed control planes run them: the CoordinatedLeaderElection
 * gate off (no LeaseCandidate API; Lease writes lose strategy and preferredHolder), alone or beside a
 * gate-on cluster. Unmodified client-go electors (Coordinated: true) cannot register there; each has
 * the bundled candidate agent beside it, pointed at its /healthz, and no HTTP heartbeat loop.
 * "beta" is gate-off in both groups; the first leader lives there, so its preemption goes by revoke.
 */
const LEASE_DURATION_S = 5;
const TIMINGS = [`--lease-duration=${LEASE_DURATION_S}s`, '--renew-deadline=3s', '--retry-period=500ms'];
const LEASE = 'managed';
type Cluster = 'alpha' | 'beta';

/** Every watch event of the group's Lease in each cluster, as the apiservers sent them. */
interface LeaseEvent {
  readonly holder: string;
  readonly renewTime: string;
  readonly preferredAnnotation: string | undefined;
}

describe.each(['off', 'mixed'] as const)(
  'managed clusters, gate %s (e2e: coordinator + 2 kube-apiservers + client-go electors + agents)',
  (gate: GateChoice) => {
    let clusters: CoordinatedClusters;
    let dir: string;
    let bundle: string;
    const electors: CandidateProcess[] = [];
    const agents: AgentProcess[] = [];
    const events: Record<Cluster, LeaseEvent[]> = { alpha: [], beta: [] };
    const watches: AbortController[] = [];
    let wake: (() => void)[] = [];

    /** An elector that does not register itself, and the agent that registers it (a pod's two containers). */
    async function pod(identity: string, cluster: Cluster, emulationVersion: string, legacy = false) {
      const healthz = `127.0.0.1:${await freePort()}`;
      const elector = new CandidateProcess(identity, clusters.candidateBinary, [
        `--kubeconfig=${clusters.adminKubeconfig}`,
        `--context=${cluster}`,
        `--lease=${LEASE}`,
        '--binary-version=1.35.0',
        `--emulation-version=${emulationVersion}`,
        legacy ? '--coordinated=false' : '--register-candidate=false',
        `--healthz-address=${healthz}`,
        ...TIMINGS,
      ]);
      electors.push(elector);
      if (legacy) return { elector, agent: undefined };
      const agent = new AgentProcess(bundle, [
        `--kubeconfig=${clusters.adminKubeconfig}`,
        `--context=${cluster}`,
        '--namespace=default',
        `--lease=${LEASE}`,
        `--identity=${identity}`,
        '--binary-version=1.35.0',
        `--emulation-version=${emulationVersion}`,
        `--health-url=http://${healthz}/healthz`,
      ]);
      agents.push(agent);
      return { elector, agent };
    }

    /** The pod dies: elector and agent SIGKILLed, nothing released or withdrawn. */
    async function killPod({ elector, agent }: Awaited<ReturnType<typeof pod>>): Promise<number> {
      const at = elector.kill();
      await agent?.kill();
      return at;
    }

    async function watchLease(cluster: Cluster): Promise<void> {
      const config = adminConfig(clusters.adminKubeconfig);
      config.setCurrentContext(cluster);
      const controller = await new Watch(config).watch(
        '/apis/coordination.k8s.io/v1/namespaces/default/leases',
        { fieldSelector: `metadata.name=${LEASE}` },
        (
          _phase,
          lease: { metadata?: { annotations?: Record<string, string> }; spec?: Record<string, unknown> },
        ) => {
          events[cluster].push({
            holder: String(lease.spec?.holderIdentity ?? ''),
            renewTime: String(lease.spec?.renewTime ?? ''),
            preferredAnnotation: lease.metadata?.annotations?.[PREFERRED_HOLDER_ANNOTATION],
          });
          for (const w of wake.splice(0)) w();
        },
        () => undefined,
      );
      watches.push(controller);
    }

    async function untilEvents(check: () => boolean): Promise<void> {
      while (!check()) await new Promise<void>((resolve) => wake.push(resolve));
    }

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'lease-coordinator-managed-e2e-'));
      [clusters, bundle] = await Promise.all([
        startCoordinatedClusters(
          ['alpha', 'beta'],
          [{ namespace: 'default', name: LEASE, clusters: ['alpha', 'beta'] }],
          {
            gate,
          },
        ),
        bundleAgent(join(dir, 'agent.mjs')),
      ]);
      expect(clusters.planes.map((p) => p.gate)).toEqual(gate === 'off' ? ['off', 'off'] : ['on', 'off']);
      for (const cluster of ['alpha', 'beta'] as const) await watchLease(cluster);
    }, 600_000);

    afterAll(async () => {
      for (const w of watches) w.abort();
      wake = [];
      await Promise.all(agents.map((a) => a.kill()));
      await Promise.all(electors.map((e) => e.stop()));
      await clusters?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    let newer: Awaited<ReturnType<typeof pod>>;
    let older: Awaited<ReturnType<typeof pod>>;

    it('1. elects an elector its agent registered where LeaseCandidate is not served', async () => {
      newer = await pod('newer', 'beta', '1.35.0');
      await until(electors, () => newer.elector.leading);
      expect(newer.elector.intervals).toHaveLength(1);
    }, 120_000);

    it('2. an older emulation version in the other cluster preempts by revoke: the holder is taken off, then the successor named', async () => {
      const from = { alpha: events.alpha.length, beta: events.beta.length };
      const startedAt = Date.now();
      older = await pod('older', 'alpha', '1.34.0');
      await until(electors, () => older.elector.leading && !newer.elector.leading);
      console.log(`gate ${gate}: preemption by revoke, start → leads: ${Date.now() - startedAt} ms`);
      // In the holder's gate-off cluster the holder was taken off before anyone else was named.
      const beta = events.beta.slice(from.beta);
      const revoked = beta.findIndex((e) => e.holder === REVOKED_HOLDER);
      const named = beta.findIndex((e) => e.holder === 'older');
      expect(revoked).toBeGreaterThanOrEqual(0);
      expect(named).toBeGreaterThan(revoked);
      expect(beta[revoked]?.preferredAnnotation).toBe('older');
      // The other cluster named the holder until the successor, and carried the preference as an annotation.
      const alpha = events.alpha.slice(from.alpha);
      expect(alpha.some((e) => e.holder === 'newer' && e.preferredAnnotation === 'older')).toBe(true);
      expect(alpha.findIndex((e) => e.holder === REVOKED_HOLDER)).toBe(-1);
      expect(overlaps(electors)).toEqual([]);
    }, 120_000);

    it('3. in steady state, a holder renewal is its own write only, and at most one copy in the other cluster', async () => {
      const from = { alpha: events.alpha.length, beta: events.beta.length };
      const renewals = 10;
      await untilEvents(() => events.alpha.length - from.alpha >= renewals);
      const home = events.alpha.slice(from.alpha, from.alpha + renewals);
      const copies = events.beta.slice(from.beta);
      // Every event in the holder's cluster is one of its own renewals (each a new renewTime): the
      // coordinator wrote nothing there, though the cluster drops fields its decision carries.
      expect(home.every((e) => e.holder === 'older')).toBe(true);
      expect(new Set(home.map((e) => e.renewTime)).size).toBe(renewals);
      // The other cluster got the copies a lease group makes (renewals close together share one).
      expect(copies.length).toBeGreaterThan(0);
      expect(copies.length).toBeLessThanOrEqual(renewals + 1);
      expect(copies.every((e) => e.holder === 'older')).toBe(true);
      console.log(
        `gate ${gate}: ${renewals} renewals → ${home.length} writes in the holder's cluster, ${copies.length} in the other`,
      );
    }, 120_000);

    it('4. a leader killed with its agent is replaced by the next best, and never elected again', async () => {
      await killPod(older);
      await until(electors, () => newer.elector.leading);
      expect(older.elector.intervals).toHaveLength(1);
      expect(overlaps(electors)).toEqual([]);
    }, 120_000);

    it('5. a legacy elector that takes a dead holder’s copy in the other cluster is the holder; the dead one restarting does not lead beside it', async () => {
      // The coordinated holder "newer" leads from beta; a legacy elector (no LeaseCandidate,
      // Coordinated: false) runs in alpha.
      const legacy = await pod('legacy', 'alpha', '1.35.0', true);
      await killPod(newer);
      // alpha's copy runs out; the legacy elector takes it; the coordinator records it and copies it
      // into beta, where the Lease named the dead holder (before, the mirror wrote the dead one back).
      await until(electors, () => legacy.elector.leading);
      await untilEvents(() => events.beta.some((e) => e.holder === 'legacy'));
      // "newer" comes back with the same identity in beta, and finds the Lease held by someone else.
      const restarted = await pod('newer', 'beta', '1.35.0');
      const shown = events.alpha.length;
      // It outranks a holder with no candidate of its own, so the preference is shown in alpha.
      await untilEvents(() => events.alpha.slice(shown).some((e) => e.preferredAnnotation === 'newer'));
      if (gate === 'off') {
        // alpha drops preferredHolder, so the legacy holder is revoked there and the candidate named.
        await until(electors, () => restarted.elector.leading && !legacy.elector.leading);
      } else {
        // alpha keeps preferredHolder, which a legacy elector does not read (upstream's behaviour, and
        // the default here: `preemption: Revoke` moves it): it keeps leading, and only it.
        const renewedAfter = events.alpha.length;
        await untilEvents(
          () => events.alpha.slice(renewedAfter).filter((e) => e.holder === 'legacy').length >= 2,
        );
        expect(legacy.elector.leading).toBe(true);
        expect(restarted.elector.leading).toBe(false);
      }
      expect(overlaps(electors)).toEqual([]);
    }, 180_000);

    it('never had two processes leading at the same time', () => {
      expect(electors.flatMap((p) => p.intervals).length).toBeGreaterThanOrEqual(gate === 'off' ? 5 : 4);
      expect(overlaps(electors)).toEqual([]);
    });
  },
);
