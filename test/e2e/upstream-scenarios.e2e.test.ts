/**
 * Upstream's CLE integration scenarios (docs/design.md, U6) and the e2e "downgrade to
 * disabled" case (§4.7), replayed against our coordinator in ONE real cluster, with real client-go
 * candidate processes and upstream's short timings.
 *
 * Which way the in-tree controller is kept out of the leases' path: by keeping it from leading
 * (benchInTreeController holds kube-system/leader-election-controller for a year), while every
 * candidate asks for the in-tree strategy name OldestEmulationVersion. That is the harder case and
 * the one users meet: kube-scheduler, kube-controller-manager and every NewCandidate caller ask for
 * that name, and with our own qualified name the in-tree controller would stay out by design
 * anyway. The last test checks the bench held for the whole file, so every decision seen here is
 * ours. Each scenario has its own namespace (upstream starts a fresh apiserver per test, so it can
 * reuse candidate names such as foo1) and its own lease name. TestLeaseCandidateCleanup is covered
 * by test/integration/clusters.integration.test.ts ("a stale candidate deleted from its cluster").
 *
 * The same scenarios run three ways (docs/reliability.md, docs/managed-clusters.md): in one
 * gate-on cluster, upstream's setting; in one gate-off cluster, as a managed control plane runs;
 * and as lease groups over a mixed pair (alpha gate on, beta gate off), each scenario's candidates
 * started in turn in beta and alpha, so its first candidate (the first holder) lives where the
 * gate is off. Where LeaseCandidate is not served, each elector registers through the candidate
 * agent (`--register-candidate=false` beside it). Every scenario applies; where the gate is off
 * three expectations differ, because the cluster drops `spec.strategy` and `spec.preferredHolder`
 * from every Lease write and the CRD has no version-skew rule:
 * - the Lease carries the strategy only where the gate is on (single, third-party);
 * - the invalid baz4 is accepted by the CRD, and our ingest is what refuses it (it is never stored);
 * - preemption goes by revoke (docs/managed-clusters.md): in the swap, bar1 is taken off its Lease
 *   rather than asked to release; in the upgrade skew, the legacy holder, which upstream leaves
 *   leading because it ignores preferredHolder, is revoked and the CLE candidate leads beside a
 *   still-running legacy elector that waits. The downgrade needs no preemption and is unchanged.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatMicroTime } from '../../lib/api/time.js';
import { overlaps } from '../../lib/harness/candidates.js';
import {
  type CoordinatedClusters,
  startCoordinatedClusters,
} from '../../lib/harness/coordinated-clusters.js';
import { kube } from '../../lib/kube-local/admin.js';
import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import type { GateChoice } from '../../lib/kube-local/local-clusters.js';
import type { LocalCoordinator } from '../../lib/local/local-coordinator.js';
import type { LeaseState } from '../../lib/ports/store.js';
import { Notifier } from '../helpers/local-stack.js';
import { type CandidatePod, CandidatePods, candidatesApi } from './candidate-pods.js';

/** Upstream's fake components: lease 5 s, renew 3 s, retry 1–2 s. */
const TIMINGS = ['--lease-duration=5s', '--renew-deadline=3s', '--retry-period=1s'];
const OEV = 'OldestEmulationVersion';
const THIRD_PARTY = 'foo.com/bar';

interface LeaseSpec {
  holderIdentity?: string;
  renewTime?: string;
  strategy?: string;
  preferredHolder?: string;
}

/** Each scenario's namespace and lease name (a lease group of its own in the mixed run). */
const SCENARIOS = [
  { namespace: 'single', name: 'foo' },
  { namespace: 'single-3p', name: 'foo' },
  { namespace: 'multiple', name: 'baz' },
  { namespace: 'multiple-3p', name: 'baz' },
  { namespace: 'swap', name: 'bar' },
  { namespace: 'upgrade', name: 'foobar' },
  { namespace: 'downgrade', name: 'foobar' },
];

/** One gate-on cluster (upstream's setting), one gate-off cluster, or a mixed pair. */
const RUNS: readonly { gate: GateChoice; clusters: readonly string[] }[] = [
  { gate: 'on', clusters: ['alpha'] },
  { gate: 'off', clusters: ['alpha'] },
  { gate: 'mixed', clusters: ['alpha', 'beta'] },
];

/** Where a cluster keeps what a Lease write carries of CLE: only with the gate on. */
const keepsCle = (plane: ControlPlane) => plane.gate === 'on';

describe.each(RUNS)(
  'upstream CLE integration scenarios, gate $gate, clusters $clusters (e2e: coordinator + kube-apiservers + client-go processes)',
  ({ gate, clusters: names }) => {
    let planes: readonly ControlPlane[];
    let coordinator: LocalCoordinator;
    let clusters: CoordinatedClusters;
    let pods: CandidatePods;
    const ingested = new Notifier();
    /** Every pod of the file by scenario (namespace); `running` only the current scenario's. */
    const scenarios = new Map<string, CandidatePod[]>();
    let running: CandidatePod[] = [];
    const homes = new Map<CandidatePod, ControlPlane>();

    /** A scenario's candidates go to its clusters in turn, the last cluster (gate off when mixed) first. */
    const start = async (
      namespace: string,
      identity: string,
      lease: string,
      versions: [string, string],
      options: { strategy?: string; coordinated?: boolean } = {},
    ) => {
      const started = scenarios.get(namespace) ?? [];
      const cluster = planes[(started.length + planes.length - 1) % planes.length] as ControlPlane;
      const p = await pods.start({
        identity,
        cluster,
        namespace,
        lease,
        versions,
        strategy: options.strategy ?? OEV,
        ...(options.coordinated === false && { registration: 'legacy' as const }),
      });
      scenarios.set(namespace, [...started, p]);
      running.push(p);
      homes.set(p, cluster);
      return p;
    };
    const home = (p: CandidatePod) => homes.get(p) as ControlPlane;

    const leaseIn = async (
      plane: ControlPlane,
      namespace: string,
      name: string,
    ): Promise<LeaseSpec | undefined> => {
      const res = await kube(
        plane,
        'GET',
        `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`,
      );
      if (res.status === 404) return undefined;
      expect(res.status).toBe(200);
      return (res.json as { spec: LeaseSpec }).spec;
    };

    const stored = (namespace: string, name: string): Promise<LeaseState> =>
      coordinator.deps.store.loadLease({ scope: names.join('+'), namespace, name });

    /** Until `check` holds, waits for the next cluster event ingested or process callback. */
    const waitFor = async (what: string, check: () => Promise<boolean> | boolean, rounds = 400) => {
      for (let round = 0; round < rounds; round++) {
        const next = Promise.race([ingested.next(), ...running.map((p) => p.nextEvent())]);
        if (await check()) return;
        await next;
      }
      throw new Error(`${what}: not reached after ${rounds} events`);
    };

    /** Waits for `count` renewals of the Lease in `plane` by `holder`, each seen as its own cluster event. */
    const renewals = async (
      plane: ControlPlane,
      namespace: string,
      name: string,
      holder: string,
      count: number,
    ) => {
      const seen = new Set<string>();
      await waitFor(`${count} renewals of ${name} by ${holder}`, async () => {
        const spec = await leaseIn(plane, namespace, name);
        // Fail at once rather than wait out the test timeout for renewals that will never come.
        if (spec?.holderIdentity !== holder)
          throw new Error(`${name} is held by ${spec?.holderIdentity ?? 'nobody'}, not ${holder}`);
        if (spec.renewTime !== undefined) seen.add(spec.renewTime);
        return seen.size > count;
      });
    };

    /** Every cluster's Lease as `check` wants it (a group's other cluster gets its copy from the mirror). */
    const everyLease = (
      namespace: string,
      name: string,
      check: (spec: LeaseSpec, plane: ControlPlane) => boolean,
    ) =>
      waitFor(`${namespace}/${name} in every cluster`, async () => {
        for (const plane of planes) {
          const spec = await leaseIn(plane, namespace, name);
          if (spec === undefined || !check(spec, plane)) return false;
        }
        return true;
      });

    const leading = () => running.filter((p) => p.leading).map((p) => p.identity);

    beforeAll(async () => {
      // Gate on or off: no lease groups, every lease is coordinated inside its own cluster, the
      // upstream way. Mixed: each scenario's lease is a group over both clusters.
      clusters = await startCoordinatedClusters(
        names,
        gate === 'mixed' ? SCENARIOS.map((s) => ({ ...s, clusters: [...names] })) : [],
        { gate, onIngest: () => ingested.notify() },
      );
      ({ planes, coordinator } = clusters);
      pods = new CandidatePods(clusters, TIMINGS);
      for (const plane of planes)
        for (const { namespace } of SCENARIOS) {
          const res = await kube(plane, 'POST', '/api/v1/namespaces', {
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name: namespace },
          });
          expect(res.status).toBe(201);
        }
    }, 600_000);

    afterEach(async () => {
      // Each scenario's processes stop with it: fewer pollers on two cores, and no scenario leans on another.
      await Promise.all(running.map((p) => p.stop()));
      running = [];
    });

    afterAll(async () => {
      await pods?.stopAll();
      await clusters?.stop();
    });

    it('TestSingleLeaseCandidate: the only candidate, foo1, is elected', async () => {
      const foo1 = await start('single', 'foo1', 'foo', ['1.20.0', '1.20.0']);
      await waitFor('foo1 leads', () => foo1.leading);
      expect((await leaseIn(home(foo1), 'single', 'foo'))?.holderIdentity).toBe('foo1');
      expect((await stored('single', 'foo')).lease?.record.holderIdentity).toBe('foo1');
      // The strategy is kept where the gate is on, and dropped where it is off.
      await everyLease('single', 'foo', (lease) => lease.holderIdentity === 'foo1');
      for (const plane of planes)
        expect((await leaseIn(plane, 'single', 'foo'))?.strategy, plane.name).toBe(
          keepsCle(plane) ? OEV : undefined,
        );
    });

    it('TestSingleLeaseCandidateUsingThirdPartyStrategy: the Lease is created with no holder, and the strategy where the cluster keeps it', async () => {
      const foo1 = await start('single-3p', 'foo1', 'foo', ['1.20.0', '1.20.0'], { strategy: THIRD_PARTY });
      await everyLease('single-3p', 'foo', () => true);
      for (const plane of planes) {
        const lease = await leaseIn(plane, 'single-3p', 'foo');
        expect(lease?.strategy, plane.name).toBe(keepsCle(plane) ? THIRD_PARTY : undefined);
        expect(lease?.holderIdentity ?? '', plane.name).toBe('');
      }
      expect(foo1.intervals).toEqual([]);
    });

    it('TestMultipleLeaseCandidate: of baz1..baz4, baz3 (binary 1.19, emulation 1.19) is elected', async () => {
      const versions: Record<string, [string, string]> = {
        baz1: ['1.20.0', '1.20.0'],
        baz2: ['1.20.0', '1.19.0'],
        baz3: ['1.19.0', '1.19.0'],
        baz4: ['1.20.0', '1.19.0'],
      };
      for (const [name, v] of Object.entries(versions)) await start('multiple', name, 'baz', v);
      const baz3 = running.find((p) => p.identity === 'baz3') as CandidatePod;
      await waitFor('baz3 leads with all four candidates on record', async () => {
        if (!baz3.leading) return false;
        const state = await stored('multiple', 'baz');
        return state.candidates.length === 4 && state.lease?.record.holderIdentity === 'baz3';
      });
      const state = await stored('multiple', 'baz');
      expect(state.candidates.map((c) => c.name).sort()).toEqual(['baz1', 'baz2', 'baz3', 'baz4']);
      expect(state.lease?.record.preferredHolder).toBeUndefined();
      expect((await leaseIn(home(baz3), 'multiple', 'baz'))?.holderIdentity).toBe('baz3');
      expect(leading()).toEqual(['baz3']);
      expect(overlaps(running)).toEqual([]);
    });

    it('TestMultipleLeaseCandidateUsingThirdPartyStrategy: baz4 (binary 1.2.0 < emulation 1.19.0) is refused, by the apiserver where the gate is on and by our ingest where not; no holder', async () => {
      for (const plane of planes) {
        const api = candidatesApi(plane, 'multiple-3p');
        const baz4 = await kube(plane, 'POST', api.path, {
          apiVersion: api.apiVersion,
          kind: 'LeaseCandidate',
          metadata: { name: 'baz4', namespace: 'multiple-3p' },
          spec: {
            leaseName: 'baz',
            binaryVersion: '1.2.0',
            emulationVersion: '1.19.0',
            strategy: THIRD_PARTY,
            renewTime: formatMicroTime(Date.now()),
          },
        });
        if (keepsCle(plane)) {
          expect(baz4.status, plane.name).toBe(422);
          const causes = (baz4.json.details as { causes?: { field?: string }[] } | undefined)?.causes ?? [];
          expect(causes.map((c) => c.field)).toContain('spec.binaryVersion');
          expect((await kube(plane, 'GET', `${api.path}/baz4`)).status).toBe(404);
        } else {
          // The CRD checks field shapes, not one version against another: the object is stored,
          // and it is ingest's validation that keeps it out of the election (asserted below).
          expect(baz4.status, plane.name).toBe(201);
        }
      }

      const versions: Record<string, [string, string]> = {
        baz1: ['1.20.0', '1.20.0'],
        baz2: ['1.20.0', '1.19.0'],
        baz3: ['1.19.0', '1.19.0'],
        baz5: ['1.20.0', '1.19.0'],
      };
      for (const [name, v] of Object.entries(versions))
        await start('multiple-3p', name, 'baz', v, { strategy: THIRD_PARTY });
      await waitFor('the Lease exists with all four valid candidates on record', async () => {
        const state = await stored('multiple-3p', 'baz');
        return (
          state.candidates.length === 4 &&
          (await leaseIn(planes[0] as ControlPlane, 'multiple-3p', 'baz')) !== undefined
        );
      });
      await everyLease('multiple-3p', 'baz', () => true);
      for (const plane of planes) {
        const lease = await leaseIn(plane, 'multiple-3p', 'baz');
        expect(lease?.strategy, plane.name).toBe(keepsCle(plane) ? THIRD_PARTY : undefined);
        expect(lease?.holderIdentity ?? '', plane.name).toBe('');
      }
      expect((await stored('multiple-3p', 'baz')).candidates.map((c) => c.name).sort()).toEqual([
        'baz1',
        'baz2',
        'baz3',
        'baz5',
      ]);
      expect(running.flatMap((p) => p.intervals)).toEqual([]);
    });

    it('TestLeaseSwapIfBetterAvailable: bar1 leads, bar2 (older emulation) starts, bar1 yields to it', async () => {
      const bar1 = await start('swap', 'bar1', 'bar', ['1.20.0', '1.20.0']);
      await waitFor('bar1 leads', () => bar1.leading);
      const bar2 = await start('swap', 'bar2', 'bar', ['1.19.0', '1.19.0']);
      await waitFor('bar2 leads', () => bar2.leading);
      // bar1 was not killed: it stopped on its own, after seeing preferredHolder and releasing
      // (gate on), or after being taken off its Lease (its cluster drops preferredHolder: revoke).
      expect(bar1.intervals).toHaveLength(1);
      expect(bar1.leading).toBe(false);
      expect((await leaseIn(home(bar2), 'swap', 'bar'))?.holderIdentity).toBe('bar2');
      const record = (await stored('swap', 'bar')).lease?.record;
      expect(record?.holderIdentity).toBe('bar2');
      expect(record?.term).toBeGreaterThanOrEqual(2);
      expect(overlaps(running)).toEqual([]);
    });

    it('TestUpgradeSkew: a legacy holder keeps the lease while a CLE candidate waits (revoked instead where its cluster drops preferredHolder); the candidate gets it once the legacy one stops', async () => {
      const legacy = await start('upgrade', 'foo1-130', 'foobar', ['1.30.0', '1.30.0'], {
        coordinated: false,
      });
      await waitFor('foo1-130 leads', () => legacy.leading);
      const cle = await start('upgrade', 'foo1-131', 'foobar', ['1.31.0', '1.31.0']);
      await waitFor('the coordinator has foo1-131 and a record of the lease', async () => {
        const state = await stored('upgrade', 'foobar');
        return state.lease !== undefined && state.candidates.some((c) => c.name === 'foo1-131');
      });
      if (keepsCle(home(legacy))) {
        // The legacy elector ignores preferredHolder: give the coordinator a few renewals to get it wrong.
        await renewals(home(legacy), 'upgrade', 'foobar', 'foo1-130', 3);
        expect((await leaseIn(home(legacy), 'upgrade', 'foobar'))?.holderIdentity).toBe('foo1-130');
        expect((await stored('upgrade', 'foobar')).lease?.record.holderIdentity).toBe('foo1-130');
        expect(cle.intervals).toEqual([]);
        expect(leading()).toEqual(['foo1-130']);
        await legacy.stop();
      } else {
        // preferredHolder would be dropped: the legacy holder is revoked (a live Lease held by
        // somebody else, so it waits), and the CLE candidate named one lease duration later.
        await waitFor('foo1-131 leads, the legacy elector still running', () => cle.leading);
        await renewals(home(cle), 'upgrade', 'foobar', 'foo1-131', 3);
        expect(legacy.leading).toBe(false);
      }
      await waitFor('foo1-131 leads', () => cle.leading);
      expect((await leaseIn(home(cle), 'upgrade', 'foobar'))?.holderIdentity).toBe('foo1-131');
      expect(legacy.intervals).toHaveLength(1);
      expect(overlaps(running)).toEqual([]);
    });

    it('CLE downgrade to disabled: a CLE holder keeps the lease while a legacy elector joins; the legacy one gets it once the holder stops', async () => {
      const cle = await start('downgrade', 'foo1-131', 'foobar', ['1.31.0', '1.31.0']);
      await waitFor('foo1-131 leads', () => cle.leading);
      const legacy = await start('downgrade', 'foo1-130', 'foobar', ['1.30.0', '1.30.0'], {
        coordinated: false,
      });
      // The legacy elector polls every retry period: a few renewals by the holder give it several tries.
      await renewals(home(cle), 'downgrade', 'foobar', 'foo1-131', 3);
      expect((await leaseIn(home(legacy), 'downgrade', 'foobar'))?.holderIdentity).toBe('foo1-131');
      expect(legacy.intervals).toEqual([]);

      await cle.stop();
      await waitFor('foo1-130 leads', () => legacy.leading);
      expect((await leaseIn(home(legacy), 'downgrade', 'foobar'))?.holderIdentity).toBe('foo1-130');
      expect(cle.intervals).toHaveLength(1);
      expect(overlaps(running)).toEqual([]);
    });

    it('kept the in-tree controller benched throughout (where it runs), and no lease ever had two processes leading at once', async () => {
      for (const plane of planes.filter(keepsCle)) {
        const bench = await leaseIn(plane, 'kube-system', 'leader-election-controller');
        expect(bench?.holderIdentity, plane.name).toBe('lease-coordinator-holds-this');
      }
      const all = [...scenarios.values()].flat();
      // foo1, baz3 (at least), bar1 and bar2, and both electors of each skew scenario.
      expect(all.flatMap((p) => p.intervals).length).toBeGreaterThanOrEqual(8);
      expect([...scenarios.values()].flatMap((group) => overlaps(group))).toEqual([]);
    });
  },
);
