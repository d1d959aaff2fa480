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
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatMicroTime } from '../../lib/api/time.js';
import { CandidateProcess, overlaps } from '../../lib/harness/candidates.js';
import {
  type CoordinatedClusters,
  startCoordinatedClusters,
} from '../../lib/harness/coordinated-clusters.js';
import { kube } from '../../lib/kube-local/admin.js';
import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import type { LocalCoordinator } from '../../lib/local/local-coordinator.js';
import type { LeaseState } from '../../lib/ports/store.js';
import { Notifier } from '../helpers/local-stack.js';

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

describe('upstream CLE integration scenarios, single cluster (e2e: coordinator + kube-apiserver + client-go processes)', () => {
  let alpha: ControlPlane;
  let coordinator: LocalCoordinator;
  let clusters: CoordinatedClusters;
  let binary: string;
  let adminKubeconfig: string;
  const ingested = new Notifier();
  /** Every process of the file by scenario (namespace); `running` only the current scenario's. */
  const scenarios = new Map<string, CandidateProcess[]>();
  let running: CandidateProcess[] = [];

  const start = (
    namespace: string,
    identity: string,
    lease: string,
    [binaryVersion, emulationVersion]: [string, string],
    options: { strategy?: string; coordinated?: boolean } = {},
  ) => {
    const p = new CandidateProcess(identity, binary, [
      `--kubeconfig=${adminKubeconfig}`,
      '--context=alpha',
      `--namespace=${namespace}`,
      `--lease=${lease}`,
      `--binary-version=${binaryVersion}`,
      `--emulation-version=${emulationVersion}`,
      `--strategy=${options.strategy ?? OEV}`,
      `--coordinated=${options.coordinated ?? true}`,
      ...TIMINGS,
    ]);
    scenarios.set(namespace, [...(scenarios.get(namespace) ?? []), p]);
    running.push(p);
    return p;
  };

  const leaseIn = async (namespace: string, name: string): Promise<LeaseSpec | undefined> => {
    const res = await kube(
      alpha,
      'GET',
      `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`,
    );
    if (res.status === 404) return undefined;
    expect(res.status).toBe(200);
    return (res.json as { spec: LeaseSpec }).spec;
  };

  const stored = (namespace: string, name: string): Promise<LeaseState> =>
    coordinator.deps.store.loadLease({ scope: 'alpha', namespace, name });

  /** Until `check` holds, waits for the next cluster event ingested or process callback. */
  const waitFor = async (what: string, check: () => Promise<boolean> | boolean, rounds = 400) => {
    for (let round = 0; round < rounds; round++) {
      const next = Promise.race([ingested.next(), ...running.map((p) => p.nextEvent())]);
      if (await check()) return;
      await next;
    }
    throw new Error(`${what}: not reached after ${rounds} events`);
  };

  /** Waits for `count` renewals of the Lease by `holder`, each seen as its own cluster event. */
  const renewals = async (namespace: string, name: string, holder: string, count: number) => {
    const seen = new Set<string>();
    await waitFor(`${count} renewals of ${name} by ${holder}`, async () => {
      const spec = await leaseIn(namespace, name);
      // Fail at once rather than wait out the test timeout for renewals that will never come.
      if (spec?.holderIdentity !== holder)
        throw new Error(`${name} is held by ${spec?.holderIdentity ?? 'nobody'}, not ${holder}`);
      if (spec.renewTime !== undefined) seen.add(spec.renewTime);
      return seen.size > count;
    });
  };

  const leading = () => running.filter((p) => p.leading).map((p) => p.identity);

  beforeAll(async () => {
    // No lease groups: every lease is coordinated inside its own cluster, the upstream way.
    clusters = await startCoordinatedClusters(['alpha'], [], { onIngest: () => ingested.notify() });
    [alpha] = clusters.planes as [ControlPlane];
    ({ coordinator, adminKubeconfig, candidateBinary: binary } = clusters);
    for (const namespace of [
      'single',
      'single-3p',
      'multiple',
      'multiple-3p',
      'swap',
      'upgrade',
      'downgrade',
    ]) {
      const res = await kube(alpha, 'POST', '/api/v1/namespaces', {
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
    await Promise.all([...scenarios.values()].flat().map((p) => p.stop()));
    await clusters?.stop();
  });

  it('TestSingleLeaseCandidate: the only candidate, foo1, is elected', async () => {
    const foo1 = start('single', 'foo1', 'foo', ['1.20.0', '1.20.0']);
    await waitFor('foo1 leads', () => foo1.leading);
    const lease = await leaseIn('single', 'foo');
    expect(lease?.holderIdentity).toBe('foo1');
    expect(lease?.strategy).toBe(OEV);
    expect((await stored('single', 'foo')).lease?.record.holderIdentity).toBe('foo1');
  });

  it('TestSingleLeaseCandidateUsingThirdPartyStrategy: the Lease is created with the strategy and no holder', async () => {
    const foo1 = start('single-3p', 'foo1', 'foo', ['1.20.0', '1.20.0'], { strategy: THIRD_PARTY });
    await waitFor('the Lease exists', async () => (await leaseIn('single-3p', 'foo')) !== undefined);
    const lease = await leaseIn('single-3p', 'foo');
    expect(lease?.strategy).toBe(THIRD_PARTY);
    expect(lease?.holderIdentity ?? '').toBe('');
    expect(foo1.intervals).toEqual([]);
  });

  it('TestMultipleLeaseCandidate: of baz1..baz4, baz3 (binary 1.19, emulation 1.19) is elected', async () => {
    const versions: Record<string, [string, string]> = {
      baz1: ['1.20.0', '1.20.0'],
      baz2: ['1.20.0', '1.19.0'],
      baz3: ['1.19.0', '1.19.0'],
      baz4: ['1.20.0', '1.19.0'],
    };
    for (const [name, v] of Object.entries(versions)) start('multiple', name, 'baz', v);
    const baz3 = running.find((p) => p.identity === 'baz3') as CandidateProcess;
    await waitFor('baz3 leads with all four candidates on record', async () => {
      if (!baz3.leading) return false;
      const state = await stored('multiple', 'baz');
      return state.candidates.length === 4 && state.lease?.record.holderIdentity === 'baz3';
    });
    const state = await stored('multiple', 'baz');
    expect(state.candidates.map((c) => c.name).sort()).toEqual(['baz1', 'baz2', 'baz3', 'baz4']);
    expect(state.lease?.record.preferredHolder).toBeUndefined();
    expect((await leaseIn('multiple', 'baz'))?.holderIdentity).toBe('baz3');
    expect(leading()).toEqual(['baz3']);
    expect(overlaps(running)).toEqual([]);
  });

  it('TestMultipleLeaseCandidateUsingThirdPartyStrategy: the apiserver rejects baz4 (binary 1.2.0 < emulation 1.19.0); no holder', async () => {
    const baz4 = await kube(
      alpha,
      'POST',
      '/apis/coordination.k8s.io/v1beta1/namespaces/multiple-3p/leasecandidates',
      {
        apiVersion: 'coordination.k8s.io/v1beta1',
        kind: 'LeaseCandidate',
        metadata: { name: 'baz4', namespace: 'multiple-3p' },
        spec: {
          leaseName: 'baz',
          binaryVersion: '1.2.0',
          emulationVersion: '1.19.0',
          strategy: THIRD_PARTY,
          renewTime: formatMicroTime(Date.now()),
        },
      },
    );
    expect(baz4.status).toBe(422);
    const causes = (baz4.json.details as { causes?: { field?: string }[] } | undefined)?.causes ?? [];
    expect(causes.map((c) => c.field)).toContain('spec.binaryVersion');

    const versions: Record<string, [string, string]> = {
      baz1: ['1.20.0', '1.20.0'],
      baz2: ['1.20.0', '1.19.0'],
      baz3: ['1.19.0', '1.19.0'],
      baz5: ['1.20.0', '1.19.0'],
    };
    for (const [name, v] of Object.entries(versions))
      start('multiple-3p', name, 'baz', v, { strategy: THIRD_PARTY });
    await waitFor('the Lease exists with all four valid candidates on record', async () => {
      const state = await stored('multiple-3p', 'baz');
      return state.candidates.length === 4 && (await leaseIn('multiple-3p', 'baz')) !== undefined;
    });
    const lease = await leaseIn('multiple-3p', 'baz');
    expect(lease?.strategy).toBe(THIRD_PARTY);
    expect(lease?.holderIdentity ?? '').toBe('');
    expect((await stored('multiple-3p', 'baz')).candidates.map((c) => c.name).sort()).toEqual([
      'baz1',
      'baz2',
      'baz3',
      'baz5',
    ]);
    expect(
      (
        await kube(
          alpha,
          'GET',
          '/apis/coordination.k8s.io/v1beta1/namespaces/multiple-3p/leasecandidates/baz4',
        )
      ).status,
    ).toBe(404);
    expect(running.flatMap((p) => p.intervals)).toEqual([]);
  });

  it('TestLeaseSwapIfBetterAvailable: bar1 leads, bar2 (older emulation) starts, bar1 yields to it', async () => {
    const bar1 = start('swap', 'bar1', 'bar', ['1.20.0', '1.20.0']);
    await waitFor('bar1 leads', () => bar1.leading);
    const bar2 = start('swap', 'bar2', 'bar', ['1.19.0', '1.19.0']);
    await waitFor('bar2 leads', () => bar2.leading);
    // bar1 was not killed: it stopped on its own, after seeing preferredHolder, and released.
    expect(bar1.intervals).toHaveLength(1);
    expect(bar1.leading).toBe(false);
    expect((await leaseIn('swap', 'bar'))?.holderIdentity).toBe('bar2');
    const record = (await stored('swap', 'bar')).lease?.record;
    expect(record?.holderIdentity).toBe('bar2');
    expect(record?.term).toBeGreaterThanOrEqual(2);
    expect(overlaps(running)).toEqual([]);
  });

  it('TestUpgradeSkew: a legacy holder keeps the lease while a CLE candidate waits; the candidate gets it once the legacy one stops', async () => {
    const legacy = start('upgrade', 'foo1-130', 'foobar', ['1.30.0', '1.30.0'], { coordinated: false });
    await waitFor('foo1-130 leads', () => legacy.leading);
    const cle = start('upgrade', 'foo1-131', 'foobar', ['1.31.0', '1.31.0']);
    await waitFor('the coordinator has foo1-131 and a record of the lease', async () => {
      const state = await stored('upgrade', 'foobar');
      return state.lease !== undefined && state.candidates.some((c) => c.name === 'foo1-131');
    });
    // The legacy elector ignores preferredHolder: give the coordinator a few renewals to get it wrong.
    await renewals('upgrade', 'foobar', 'foo1-130', 3);
    expect((await leaseIn('upgrade', 'foobar'))?.holderIdentity).toBe('foo1-130');
    expect((await stored('upgrade', 'foobar')).lease?.record.holderIdentity).toBe('foo1-130');
    expect(cle.intervals).toEqual([]);
    expect(leading()).toEqual(['foo1-130']);

    await legacy.stop();
    await waitFor('foo1-131 leads', () => cle.leading);
    expect((await leaseIn('upgrade', 'foobar'))?.holderIdentity).toBe('foo1-131');
    expect(legacy.intervals).toHaveLength(1);
    expect(overlaps(running)).toEqual([]);
  });

  it('CLE downgrade to disabled: a CLE holder keeps the lease while a legacy elector joins; the legacy one gets it once the holder stops', async () => {
    const cle = start('downgrade', 'foo1-131', 'foobar', ['1.31.0', '1.31.0']);
    await waitFor('foo1-131 leads', () => cle.leading);
    const legacy = start('downgrade', 'foo1-130', 'foobar', ['1.30.0', '1.30.0'], { coordinated: false });
    // The legacy elector polls every retry period: a few renewals by the holder give it several tries.
    await renewals('downgrade', 'foobar', 'foo1-131', 3);
    expect((await leaseIn('downgrade', 'foobar'))?.holderIdentity).toBe('foo1-131');
    expect(legacy.intervals).toEqual([]);

    await cle.stop();
    await waitFor('foo1-130 leads', () => legacy.leading);
    expect((await leaseIn('downgrade', 'foobar'))?.holderIdentity).toBe('foo1-130');
    expect(cle.intervals).toHaveLength(1);
    expect(overlaps(running)).toEqual([]);
  });

  it('kept the in-tree controller benched throughout, and no lease ever had two processes leading at once', async () => {
    const bench = await leaseIn('kube-system', 'leader-election-controller');
    expect(bench?.holderIdentity).toBe('lease-coordinator-holds-this');
    const all = [...scenarios.values()].flat();
    // foo1, baz3 (at least), bar1 and bar2, and both electors of each skew scenario.
    expect(all.flatMap((p) => p.intervals).length).toBeGreaterThanOrEqual(8);
    expect([...scenarios.values()].flatMap((group) => overlaps(group))).toEqual([]);
  });
});
