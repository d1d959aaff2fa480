/**
 * The coordinator itself down (the stack failing, its region out: the clusters hear nothing from
 * it), in a lease group of two gate-off clusters, the product's main case. Coordinated client-go
 * electors (Coordinated: true, registered by the agent beside each) never take a Lease on their
 * own, so while it is down the holder keeps leading, a better candidate is not preferred, and a
 * holder that dies is not replaced by any of them. A legacy elector (Coordinated: false) in the
 * holder's cluster takes the Lease once it has run out, as client-go does without us. Then a new
 * coordinator starts on the same table and clusters (a cold start: nothing of the old one's
 * memory, timers or stream position) and converges. A second outage shows what a legacy elector
 * in a cluster other than the holder's does: nobody refreshes the copy there, so it takes it once
 * it has run out, and two processes lead until we are back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REVOKED_HOLDER } from '../../lib/api/lease.js';
import { overlaps, until } from '../../lib/harness/candidates.js';
import type { CoordinatedClusters } from '../../lib/harness/coordinated-clusters.js';
import { kube } from '../../lib/kube-local/admin.js';
import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import { type CandidatePod, type CandidatePods, candidatesApi } from './candidate-pods.js';
import { type GroupCluster as Cluster, type LeaseGroupStack, startLeaseGroup } from './lease-group.js';
import type { LeaseEvent, LeaseWatch } from './lease-watch.js';

const LEASE_DURATION_MS = 5_000;
const TIMINGS = [
  `--lease-duration=${LEASE_DURATION_MS / 1000}s`,
  '--renew-deadline=3s',
  '--retry-period=500ms',
];
const LEASE = 'outage';
const KEY = { scope: 'alpha+beta', namespace: 'default', name: LEASE };

/** Pairs of processes that led at once, with when each time began and ended. */
const overlapTimes = (pods: readonly CandidatePod[]) =>
  pods.flatMap((a) =>
    pods.flatMap((b) =>
      a.identity < b.identity
        ? a.intervals.flatMap((i) =>
            b.intervals
              .filter((j) => i.start < j.end && j.start < i.end)
              .map((j) => ({
                pair: `${a.identity}+${b.identity}`,
                from: Math.max(i.start, j.start),
                to: Math.min(i.end, j.end),
              })),
          )
        : [],
    ),
  );

/** How far apart the first and last of some Lease events were stamped (renewTime, the writer's clock). */
const stampedOver = (events: readonly LeaseEvent[]) =>
  events.length === 0
    ? 0
    : Date.parse(events.at(-1)?.renewTime ?? '') - Date.parse(events[0]?.renewTime ?? '');

describe('the coordinator down, then back (e2e: 2 gate-off kube-apiservers + client-go electors + agents + DynamoDB Local)', () => {
  let group: LeaseGroupStack | undefined;
  let clusters: CoordinatedClusters;
  let pods: CandidatePods;
  let leases: LeaseWatch<Cluster>;
  let events: LeaseWatch<Cluster>['events'];
  let first: CandidatePod;
  let second: CandidatePod;
  let better: CandidatePod;
  let legacy: CandidatePod;
  let termBefore = 0;
  /** Where each cluster's Lease events stood when the coordinator was stopped, and when. */
  let down: Record<Cluster, number>;
  let downAt = 0;

  const plane = (name: Cluster) => clusters.planes.find((p) => p.name === name) as ControlPlane;
  const pod = (identity: string, cluster: Cluster, versions: [string, string], legacyElector = false) =>
    pods.start({
      identity,
      cluster: plane(cluster),
      lease: LEASE,
      versions,
      registration: legacyElector ? 'legacy' : 'agent',
    });
  const table = () => clusters.coordinator.deps.store.loadLease(KEY);
  /** The table and both Leases name `holder` under the table's term. */
  const agree = async (holder: string) => {
    const term = String((await table()).lease?.record.term);
    return (['alpha', 'beta'] as const).every(
      (c) => events[c].at(-1)?.holder === holder && events[c].at(-1)?.term === term,
    );
  };
  /**
   * Where each cluster's Lease events stand once the watch has delivered every write made so far: a
   * mirror pass that the stop waited for can finish its write just before, and its event come after.
   */
  const caughtUp = async (): Promise<Record<Cluster, number>> => {
    for (const cluster of ['alpha', 'beta'] as const) {
      const read = await kube(
        plane(cluster),
        'GET',
        `/apis/coordination.k8s.io/v1/namespaces/default/leases/${LEASE}`,
      );
      const { resourceVersion } = (read.json.metadata ?? {}) as { resourceVersion?: string };
      await leases.until(() => events[cluster].some((e) => e.resourceVersion === resourceVersion));
    }
    return { alpha: events.alpha.length, beta: events.beta.length };
  };
  /** Each cluster's Lease events since `from`: holder, term, ms after `at`. */
  const leaseEvents = (from: Record<Cluster, number>, at: number) =>
    JSON.stringify({
      alpha: events.alpha.slice(from.alpha).map((e) => [e.holder, e.term, e.seenAt - at]),
      beta: events.beta.slice(from.beta).map((e) => [e.holder, e.term, e.seenAt - at]),
    });
  const registered = async (cluster: Cluster, name: string) =>
    (await kube(plane(cluster), 'GET', `${candidatesApi(plane(cluster)).path}/${name}`)).status === 200;
  /** Waits, Lease watch event by event, until `check` holds. */
  const untilLeases = async (check: () => Promise<boolean> | boolean) => {
    while (!(await check())) await leases.next();
  };

  beforeAll(async () => {
    group = await startLeaseGroup(LEASE, TIMINGS, { gate: 'off' });
    ({ clusters, pods, leases } = group);
    ({ events } = leases);
  }, 600_000);

  afterAll(() => group?.stop());

  it('1. before the outage: first leads from beta; a worse candidate and a legacy elector wait beside it', async () => {
    first = await pod('first', 'beta', ['1.35.0', '1.35.0']);
    await until(pods.all, () => first.leading);
    // A newer binary ranks second below first.
    second = await pod('second', 'beta', ['1.36.0', '1.35.0']);
    legacy = await pod('legacy', 'beta', ['1.35.0', '1.35.0'], true);
    await untilLeases(
      async () =>
        (await table()).candidates.some((c) => c.name === 'second') &&
        events.alpha.some((e) => e.holder === 'first'),
    );
    termBefore = (await table()).lease?.record.term ?? 0;
    expect(termBefore).toBeGreaterThan(0);
    expect(pods.all.filter((p) => p.leading)).toEqual([first]);
  }, 120_000);

  it('2. coordinator down: the holder keeps renewing its own Lease, and a better candidate joining is not preferred', async () => {
    await clusters.stopCoordinator();
    downAt = Date.now();
    down = await caughtUp();
    better = await pod('better', 'alpha', ['1.35.0', '1.34.0']);
    // Its agent registers it in alpha (the renewals in beta pace the looks).
    await untilLeases(() => registered('alpha', 'better'));
    const joined = events.beta.length;
    // Two lease durations of the holder's renewals once the better candidate stands.
    await untilLeases(() => stampedOver(events.beta.slice(joined)) >= 2 * LEASE_DURATION_MS);

    const during = events.beta.slice(down.beta);
    // Every write in the holder's cluster is the holder's own renewal: nobody preferred, revoked or named.
    expect(during.every((e) => e.holder === 'first' && e.preferredAnnotation === undefined)).toBe(true);
    expect(new Set(during.map((e) => e.renewTime)).size).toBe(during.length);
    // Nothing copies the renewals into alpha: its copy of the holding is left to run out.
    expect(events.alpha.slice(down.alpha)).toEqual([]);
    expect(pods.all.filter((p) => p.leading)).toEqual([first]);
    expect(better.intervals).toEqual([]);
  }, 120_000);

  it('3. the holder dies while the coordinator is down: no coordinated elector replaces it; the legacy elector takes the Lease once it has run out', async () => {
    const lastRenewal = Date.parse(events.beta.at(-1)?.renewTime ?? '');
    first.kill();
    await until(pods.all, () => legacy.leading);

    // client-go takes only a Lease that has run out: the outage has lasted past the dead holder's lease.
    // It sees a renewal only when the record it compares changes, and that record keeps renewTime to
    // the second (metav1.Time), so a run can count from the first renewal of the last second.
    const lastRenewalSecond = Math.floor(lastRenewal / 1000) * 1000;
    expect(legacy.intervals[0]?.start).toBeGreaterThanOrEqual(lastRenewalSecond + LEASE_DURATION_MS);
    expect(second.intervals).toEqual([]);
    expect(better.intervals).toEqual([]);
    expect(events.alpha.slice(down.alpha)).toEqual([]);
    expect(overlaps(pods.all)).toEqual([]);
  }, 120_000);

  it('4. a new coordinator on the same table and clusters: the best live candidate leads under a new term, one leader throughout', async () => {
    const backAt = Date.now();
    const back = { alpha: events.alpha.length, beta: events.beta.length };
    await clusters.startCoordinator();
    await until(pods.all, () => better.leading);
    const leadsAfter = (better.intervals[0]?.start ?? Number.NaN) - backAt;
    await untilLeases(() => agree('better'));
    console.log(
      `down ${backAt - downAt} ms; back → better leads: ${leadsAfter} ms; Lease events since: ${leaseEvents(back, backAt)}`,
    );

    const { lease } = await table();
    expect(lease?.record.holderIdentity).toBe('better');
    expect(lease?.record.term).toBeGreaterThan(termBefore);
    // The legacy holder in beta was revoked before better was named there (beta drops preferredHolder).
    const since = events.beta.slice(back.beta);
    expect(since.findIndex((e) => e.holder === REVOKED_HOLDER)).toBeLessThan(
      since.findIndex((e) => e.holder === 'better'),
    );
    expect(legacy.leading).toBe(false);
    expect(first.intervals).toHaveLength(1);
    expect(second.intervals).toEqual([]);
    expect(overlaps(pods.all)).toEqual([]);
  }, 120_000);

  it("5. down again, a legacy elector in a cluster other than the holder's takes the copy there once it has run out (two leaders); back, the coordinator ends that, and no overlap begins after", async () => {
    const termAt = (await table()).lease?.record.term ?? 0;
    await clusters.stopCoordinator();
    const down2 = { at: Date.now(), ...(await caughtUp()) };
    await until(pods.all, () => legacy.leading);
    // Nobody copied better's renewals into beta: the legacy elector found its copy run out.
    expect(events.beta.slice(down2.beta).every((e) => e.holder === 'legacy')).toBe(true);
    expect(better.leading).toBe(true);

    const backAt = Date.now();
    const back = { alpha: events.alpha.length, beta: events.beta.length };
    await clusters.startCoordinator();
    await untilLeases(() => agree('better'));
    await until(pods.all, () => better.leading && !legacy.leading);
    console.log(
      `second outage: legacy leads ${(legacy.intervals.at(-1)?.start ?? Number.NaN) - down2.at} ms after the stop; down ${backAt - down2.at} ms; back → the two leaders' overlap ends: ${(overlapTimes(pods.all)[0]?.to ?? Number.NaN) - backAt} ms, legacy stops: ${(legacy.intervals.at(-1)?.end ?? Number.NaN) - backAt} ms, better leads again: ${(better.intervals.at(-1)?.start ?? Number.NaN) - backAt} ms; Lease events since: ${leaseEvents(back, backAt)}`,
    );

    expect((await table()).lease?.record.term).toBeGreaterThan(termAt);
    // The only overlap is the legacy elector's and better's, begun while the coordinator was down.
    expect(overlapTimes(pods.all).map((o) => o.pair)).toEqual(['better+legacy']);
    // backAt is read once the legacy elector's start has been seen, in the same millisecond at the earliest.
    expect(overlapTimes(pods.all).every((o) => o.from <= backAt)).toBe(true);
  }, 120_000);
});
