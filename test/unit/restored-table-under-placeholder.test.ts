import { describe, expect, it } from 'vitest';
import {
  FENCED_HOLDER,
  PREFERRED_HOLDER_ANNOTATION,
  REVOKED_HOLDER,
  TERM_ANNOTATION,
} from '../../lib/api/lease.js';
import { formatMicroTime } from '../../lib/api/time.js';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { handleSweep } from '../../lib/handlers/sweep.js';
import { holderLeaseFence, holderLeaseReader } from '../../lib/sync/holder-lease-reader.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { singleCluster } from '../helpers/single-cluster.js';
import { twoClusters } from '../helpers/two-clusters.js';

/**
 * docs/reliability.md, "A table recreated or restored": a Lease showing a term of ours above the
 * record's is news, so decisions after a restore go above it and reach the cluster. That holds for
 * our placeholders too: a revoke (gate off: every preemption) or a takeover's fence that still
 * stands under a term the backup predates. Ignored as our own write, every later decision was under
 * a lower term than the Lease's, the mirror refused it, and the Lease kept naming the placeholder:
 * the client-go candidate we elect never learned it leads. And a revoke still holds the successor
 * off for one of the revoked holder's lease durations (docs/clusters.md, "Preemption"): the holder
 * it took off may lead until then, whatever the table remembers.
 */

const LEASE_SECONDS = 15;

/** What our own coordinator wrote after the backup was taken: a revoke (or a fence) under term 5. */
function placeholder(key: { namespace: string; name: string }, holder: string, renewTime: number) {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { namespace: key.namespace, name: key.name, annotations: { [TERM_ANNOTATION]: '5' } },
    spec: {
      holderIdentity: holder,
      leaseDurationSeconds: LEASE_SECONDS,
      renewTime: formatMicroTime(renewTime),
      acquireTime: formatMicroTime(renewTime),
    },
  };
}

/** A gate-off cluster whose coordinator reads and fences holders' Leases, as deployed. */
function gateOffCluster() {
  const fixture = singleCluster('c', 'solo', 'kube-system', { gate: 'off' });
  const deps = {
    ...fixture.deps,
    readHolderLease: holderLeaseReader(fixture.deps.clusters),
    fenceHolderLease: holderLeaseFence(fixture.deps.clusters),
  };
  const holderShown = () =>
    (fixture.cluster.get('Lease', fixture.key)?.spec as { holderIdentity?: string })?.holderIdentity;
  const termShown = () =>
    Number(fixture.cluster.get('Lease', fixture.key)?.metadata?.annotations?.[TERM_ANNOTATION]);
  /** A look every second for `seconds`, as timers and heartbeats bring them: who the Lease names each time. */
  const looks = async (seconds: number, candidate: string) => {
    const named: (string | undefined)[] = [];
    for (let i = 0; i < seconds; i++) {
      await fixture.heartbeat(candidate, '1.31.0');
      await reconcileLease(deps, fixture.key);
      await mirrorLease(deps, fixture.key);
      named.push(holderShown());
      fixture.advance(1_000);
    }
    return named;
  };
  return { ...fixture, deps, holderShown, termShown, looks };
}

describe.each([
  ['our revoke (preemption by revoke, gate off)', REVOKED_HOLDER],
  ['our takeover’s fence', FENCED_HOLDER],
])(
  'a table restored from a backup older than %s that the Lease still shows (unit: in-memory gate-off cluster)',
  (_what, holder) => {
    it('the next holder is elected above the Lease’s term and reaches the Lease', async () => {
      const { deps, key, cluster, store, clock, heartbeat, advance, holderShown, termShown, looks } =
        gateOffCluster();
      // The backup: "old" holds under term 1.
      await heartbeat('old', '1.30.0');
      await reconcileLease(deps, key);
      await mirrorLease(deps, key);
      expect((await store.loadLease(key)).lease?.record).toMatchObject({ holderIdentity: 'old', term: 1 });

      // Later (lost by the restore), our coordinator raised the term to 5 and left this placeholder.
      expect(cluster.replace('Lease', placeholder(key, holder, clock()), 'coordinator')).toMatchObject({
        ok: true,
      });
      await ingestLease(deps, 'c', cluster.get('Lease', key) ?? {});

      // Long after: a candidate comes, "old" is long gone.
      advance(60_000);
      const named = await looks(10, 'next');
      expect(named.at(-1)).toBe('next');
      expect(holderShown()).toBe('next');
      // Elected above the Lease's term, so the mirror writes it there.
      const record = (await store.loadLease(key)).lease?.record;
      expect(record).toMatchObject({ holderIdentity: 'next' });
      expect(record?.term).toBeGreaterThan(5);
      expect(termShown()).toBeGreaterThan(5);
    });
  },
);

describe('a revoke standing under a term the table lost holds the successor off as the revoke did (unit: in-memory gate-off cluster)', () => {
  it('after a restore: nobody is named until one lease duration after ingest saw the revoke, then the successor above its term', async () => {
    const { deps, key, cluster, store, clock, heartbeat, holderShown, termShown, looks } = gateOffCluster();
    await heartbeat('old', '1.30.0');
    await reconcileLease(deps, key);
    await mirrorLease(deps, key);
    // The revoke was written just now; the restored table has "old" under term 1.
    const revokedAt = clock();
    expect(
      cluster.replace('Lease', placeholder(key, REVOKED_HOLDER, revokedAt), 'coordinator'),
    ).toMatchObject({
      ok: true,
    });
    await ingestLease(deps, 'c', cluster.get('Lease', key) ?? {});
    expect((await store.loadLease(key)).lease?.record).toMatchObject({
      holderIdentity: REVOKED_HOLDER,
      term: 5,
    });

    const named = await looks(LEASE_SECONDS + 3, 'next');
    // The revoked holder may lead through one of its lease durations after the revoke's stamp.
    const early = named.slice(0, LEASE_SECONDS + 1);
    expect(early.every((shown) => shown === REVOKED_HOLDER)).toBe(true);
    expect(holderShown()).toBe('next');
    expect(termShown()).toBeGreaterThan(5);
  });

  it('after the table is recreated: the first decision waits out the revoke it finds, then goes above its term', async () => {
    const { key, cluster, clock, holderShown, termShown, looks } = gateOffCluster();
    // No record at all; the Lease shows a revoke of ours from the lost table, stamped just now.
    expect(cluster.create('Lease', placeholder(key, REVOKED_HOLDER, clock()), 'coordinator')).toMatchObject({
      ok: true,
    });
    const named = await looks(LEASE_SECONDS + 3, 'next');
    const early = named.slice(0, LEASE_SECONDS + 1);
    expect(early.every((shown) => shown === REVOKED_HOLDER)).toBe(true);
    expect(holderShown()).toBe('next');
    expect(termShown()).toBeGreaterThan(5);
  });
});

describe('a lease group whose table was restored while our revoke stood in one cluster and our copies in the other (unit: in-memory fakes)', () => {
  it.each([
    ['the cluster the backup holds it from', 'b', ['b', 'a']],
    ['the other cluster, the revoke ingested first', 'a', ['b', 'a']],
    ['the other cluster, our copy in the backup’s cluster ingested first', 'a', ['a', 'b']],
  ] as const)(
    'revoked in %s: the holder never leads again, and the successor is named in both clusters above the term, a lease duration after the read',
    async (_where, backupHome, order) => {
      const fixture = twoClusters({ b: { gate: 'off' } });
      const { planes, store, keyOf, heartbeat, advance } = fixture;
      const key = keyOf('kube-scheduler');
      const ref = { namespace: key.namespace, name: key.name };
      const deps = {
        ...fixture.deps,
        readHolderLease: holderLeaseReader(fixture.deps.clusters),
        fenceHolderLease: holderLeaseFence(fixture.deps.clusters),
      };
      // The backup: "old" holds under term 1, from "b" or from "a".
      await heartbeat(backupHome, key, 'old', '1.34.0');
      await handleSweep(deps);
      await mirrorLease(deps, key);
      expect((await store.loadLease(key)).lease?.record).toMatchObject({
        holderIdentity: 'old',
        holderCluster: backupHome,
        term: 1,
      });
      // Lost since: under term 7 "old" was asked to yield to "better" and revoked in "b"; "a" shows our
      // copy of that decision, still naming "old".
      const revokedAt = deps.clock();
      const underTerm7 = (cluster: 'a' | 'b', spec: Record<string, unknown>) => {
        const lease = planes[cluster].get('Lease', ref) ?? {};
        lease.metadata = {
          ...lease.metadata,
          annotations: { [TERM_ANNOTATION]: '7', [PREFERRED_HOLDER_ANNOTATION]: 'better' },
        };
        lease.spec = { ...(lease.spec as object), ...spec, leaseDurationSeconds: LEASE_SECONDS };
        expect(planes[cluster].replace('Lease', lease, 'lease-coordinator.dev/coordinator')).toMatchObject({
          ok: true,
        });
      };
      underTerm7('b', {
        holderIdentity: REVOKED_HOLDER,
        renewTime: formatMicroTime(revokedAt),
        acquireTime: formatMicroTime(revokedAt),
      });
      underTerm7('a', { holderIdentity: 'old', renewTime: formatMicroTime(revokedAt - 1_000) });
      await heartbeat('a', key, 'better', '1.33.0');

      const shown = (cluster: 'a' | 'b') =>
        (planes[cluster].get('Lease', ref)?.spec as { holderIdentity?: string })?.holderIdentity;
      const namedAt: number[] = [];
      for (let tick = 0; tick < 2 * (LEASE_SECONDS + 3); tick++) {
        // "old" is still running in "b" and renews its Lease whenever it names it, as client-go does.
        expect(planes.b.renewLease(ref, 'old', LEASE_SECONDS)).toBe('not-holder');
        for (const cluster of order)
          await ingestLease(deps, cluster, planes[cluster].get('Lease', ref) ?? {});
        await heartbeat('a', key, 'better', '1.33.0');
        await reconcileLease(deps, key);
        await mirrorLease(deps, key);
        if (shown('a') === 'better' || shown('b') === 'better') namedAt.push(deps.clock());
        advance(500);
      }
      // Named once the holding recorded from the revoke had run out: one lease duration after the read.
      expect(namedAt[0]).toBeGreaterThan(revokedAt + LEASE_SECONDS * 1_000);
      expect([shown('a'), shown('b')]).toEqual(['better', 'better']);
      const record = (await store.loadLease(key)).lease?.record;
      expect(record?.holderIdentity).toBe('better');
      expect(record?.term).toBeGreaterThan(7);
    },
  );
});

describe('a takeover’s fence standing under a term the table lost holds the successor off too (unit: in-memory gate-off cluster)', () => {
  it.each([
    ['restored', true],
    ['recreated', false],
  ])(
    'table %s: nobody is named for one lease duration after the read, then the successor above the fence’s term',
    async (_how, restored) => {
      const { deps, key, cluster, clock, heartbeat, holderShown, termShown, looks } = gateOffCluster();
      if (restored) {
        await heartbeat('old', '1.30.0');
        await reconcileLease(deps, key);
        await mirrorLease(deps, key);
        expect(
          cluster.replace('Lease', placeholder(key, FENCED_HOLDER, clock()), 'coordinator'),
        ).toMatchObject({ ok: true });
        await ingestLease(deps, 'c', cluster.get('Lease', key) ?? {});
        expect((await deps.store.loadLease(key)).lease?.record).toMatchObject({
          holderIdentity: REVOKED_HOLDER,
          term: 5,
        });
      } else {
        expect(
          cluster.create('Lease', placeholder(key, FENCED_HOLDER, clock()), 'coordinator'),
        ).toMatchObject({ ok: true });
      }
      // The fence's successor may lead wherever its naming reached before the table was lost: its own
      // renewals there are recorded within a lease duration, before anyone else is named.
      const named = await looks(LEASE_SECONDS + 3, 'next');
      expect(named.slice(0, LEASE_SECONDS + 1).every((holder) => holder !== 'next')).toBe(true);
      expect(holderShown()).toBe('next');
      expect(termShown()).toBeGreaterThan(5);
    },
  );
});

describe('a lease group whose table lost a decision naming a holder that leads from the other cluster (unit: in-memory fakes)', () => {
  it.each([
    ['restored, our copy in the backup’s cluster ingested first', true, ['a', 'b']],
    ['restored, the holder’s own Lease ingested first', true, ['b', 'a']],
    ['recreated, its Leases ingested first', false, ['a', 'b']],
    ['recreated, decided before any Lease event (the adoption read)', false, []],
  ] as const)(
    'table %s: nobody else is named while the holder renews, and its home is where it renews',
    async (_how, restored, order) => {
      const fixture = twoClusters();
      const { planes, store, keyOf, heartbeat, advance, deps } = fixture;
      const key = keyOf('kube-scheduler');
      const ref = { namespace: key.namespace, name: key.name };
      if (restored) {
        // The backup: "old" holds under term 1, from "a".
        await heartbeat('a', key, 'old', '1.34.0');
        await handleSweep(deps);
        await mirrorLease(deps, key);
      }
      // Lost since: under term 7 "new" was named from "b", where it renews; "a" shows our copy.
      const namedAt = deps.clock();
      const underTerm7 = (cluster: 'a' | 'b', by: string) => {
        const lease = planes[cluster].get('Lease', ref) ?? {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { namespace: ref.namespace, name: ref.name },
        };
        lease.metadata = { ...lease.metadata, annotations: { [TERM_ANNOTATION]: '7' } };
        lease.spec = {
          holderIdentity: 'new',
          leaseDurationSeconds: LEASE_SECONDS,
          renewTime: formatMicroTime(namedAt),
          acquireTime: formatMicroTime(namedAt),
        };
        const write = restored
          ? planes[cluster].replace('Lease', lease, by)
          : planes[cluster].create('Lease', lease, by);
        expect(write).toMatchObject({ ok: true });
      };
      underTerm7('a', 'coordinator');
      underTerm7('b', 'coordinator');
      // "other" is better: "new" is asked to yield, and "other" is named once "new" lets go or stops.
      await heartbeat('a', key, 'other', '1.33.0');
      let lastRenewed = Number.NaN;
      const others: string[] = [];
      if (order.length === 0) await reconcileLease(deps, key);
      for (let tick = 0; tick < 3 * LEASE_SECONDS; tick++) {
        advance(250);
        if (planes.b.renewLease(ref, 'new', LEASE_SECONDS) !== 'not-holder') lastRenewed = deps.clock();
        // The watch delivers it a little later (the fake stamps whole milliseconds, as we do).
        advance(250);
        for (const cluster of order)
          await ingestLease(deps, cluster, planes[cluster].get('Lease', ref) ?? {});
        await heartbeat('b', key, 'new', '1.35.0');
        await heartbeat('a', key, 'other', '1.33.0');
        await reconcileLease(deps, key);
        await mirrorLease(deps, key);
        for (const cluster of ['a', 'b'] as const) {
          const shown = (planes[cluster].get('Lease', ref)?.spec as { holderIdentity?: string })
            ?.holderIdentity;
          if (shown === 'other' && deps.clock() < lastRenewed + LEASE_SECONDS * 1_000)
            others.push(`${cluster} at ${deps.clock() - namedAt} ms`);
        }
      }
      // "new" is never named beside while it may lead, and it is recorded where it renews.
      expect(others).toEqual([]);
      expect((await store.loadLease(key)).lease?.record).toMatchObject({
        holderIdentity: 'new',
        holderCluster: 'b',
      });
      expect(deps.clock() - lastRenewed).toBeLessThan(LEASE_SECONDS * 1_000);
    },
  );
});

describe('a recreated table whose first decision reads a group where the holder renews in one cluster (unit: in-memory fakes)', () => {
  it('records the holding its holder stamped itself, in its cluster, over our copy in the first cluster', async () => {
    const { planes, store, keyOf, heartbeat, advance, deps } = twoClusters();
    const key = keyOf('kube-scheduler');
    const ref = { namespace: key.namespace, name: key.name };
    // A lost decision under term 7 named "new", which renews in "b"; "a" shows our copy.
    const spec = { holderIdentity: 'new', leaseDurationSeconds: LEASE_SECONDS };
    for (const cluster of ['a', 'b'] as const) {
      const lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { ...ref, annotations: { [TERM_ANNOTATION]: '7' } },
        spec: { ...spec, renewTime: formatMicroTime(deps.clock()) },
      };
      expect(planes[cluster].create('Lease', lease, 'coordinator')).toMatchObject({ ok: true });
    }
    advance(1_000);
    expect(planes.b.renewLease(ref, 'new', LEASE_SECONDS)).toMatchObject({ ok: true });
    advance(250);
    await heartbeat('a', key, 'other', '1.33.0');
    await reconcileLease(deps, key);
    // Where it renews, keeping its term; asked to yield to the better candidate, not waited out.
    expect((await store.loadLease(key)).lease?.record).toMatchObject({
      holderIdentity: 'new',
      holderCluster: 'b',
      term: 7,
      preferredHolder: 'other',
    });
  });
});

describe('a lease group whose table was recreated while the cluster its holder leads from is cut off (unit: in-memory fakes)', () => {
  it('nobody else is named while that cluster does not answer; once it does, the holder is recorded there', async () => {
    const { planes, store, keyOf, heartbeat, advance, deps, cut, heal } = twoClusters();
    const key = keyOf('kube-scheduler');
    const ref = { namespace: key.namespace, name: key.name };
    // A lost decision under term 7 named "new", which renews in "b"; "a" shows our copy.
    for (const cluster of ['a', 'b'] as const) {
      const lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { ...ref, annotations: { [TERM_ANNOTATION]: '7' } },
        spec: {
          holderIdentity: 'new',
          leaseDurationSeconds: LEASE_SECONDS,
          renewTime: formatMicroTime(deps.clock()),
        },
      };
      expect(planes[cluster].create('Lease', lease, 'coordinator')).toMatchObject({ ok: true });
    }
    cut('b');
    await heartbeat('a', key, 'other', '1.33.0');
    let lastRenewed = Number.NaN;
    const others: string[] = [];
    const tick = async () => {
      advance(250);
      if (planes.b.renewLease(ref, 'new', LEASE_SECONDS) !== 'not-holder') lastRenewed = deps.clock();
      advance(250);
      await ingestLease(deps, 'a', planes.a.get('Lease', ref) ?? {});
      await heartbeat('a', key, 'other', '1.33.0');
      await reconcileLease(deps, key).catch(() => undefined);
      await mirrorLease(deps, key).catch(() => undefined);
      for (const cluster of ['a', 'b'] as const) {
        const shown = (planes[cluster].get('Lease', ref)?.spec as { holderIdentity?: string })
          ?.holderIdentity;
        if (shown === 'other' && deps.clock() < lastRenewed + LEASE_SECONDS * 1_000) others.push(cluster);
      }
    };
    for (let i = 0; i < 4 * LEASE_SECONDS; i++) await tick();
    expect(others).toEqual([]);
    expect((await store.loadLease(key)).lease?.record.holderIdentity).toBe(REVOKED_HOLDER);
    heal('b');
    for (let i = 0; i < 2 * LEASE_SECONDS; i++) await tick();
    expect(others).toEqual([]);
    expect((await store.loadLease(key)).lease?.record).toMatchObject({
      holderIdentity: 'new',
      holderCluster: 'b',
    });
  });
});

describe('a recreated table whose group shows our revoke under an older term than a live holding (unit: in-memory fakes)', () => {
  it('records the holding under the newer term, and leaves its holder on its Lease', async () => {
    const { planes, store, keyOf, heartbeat, advance, deps } = twoClusters();
    const key = keyOf('kube-scheduler');
    const ref = { namespace: key.namespace, name: key.name };
    const create = (cluster: 'a' | 'b', term: string, holder: string, by: string) => {
      const lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { ...ref, annotations: { [TERM_ANNOTATION]: term } },
        spec: {
          holderIdentity: holder,
          leaseDurationSeconds: LEASE_SECONDS,
          renewTime: formatMicroTime(deps.clock()),
        },
      };
      expect(planes[cluster].create('Lease', lease, by)).toMatchObject({ ok: true });
    };
    // Term 5 revoked a holder in "a"; term 7, later, named "live" in "b", where it renews.
    create('a', '5', REVOKED_HOLDER, 'coordinator');
    create('b', '7', 'live', 'live');
    advance(1_000);
    expect(planes.b.renewLease(ref, 'live', LEASE_SECONDS)).toMatchObject({ ok: true });
    advance(250);
    await heartbeat('a', key, 'other', '1.33.0');
    await reconcileLease(deps, key);
    const refused: number[] = [];
    for (let tick = 0; tick < 2 * LEASE_SECONDS; tick++) {
      advance(250);
      if (planes.b.renewLease(ref, 'live', LEASE_SECONDS) === 'not-holder') refused.push(tick);
      advance(250);
      for (const cluster of ['a', 'b'] as const)
        await ingestLease(deps, cluster, planes[cluster].get('Lease', ref) ?? {});
      await heartbeat('a', key, 'other', '1.33.0');
      await reconcileLease(deps, key);
      await mirrorLease(deps, key);
    }
    expect(refused).toEqual([]);
    expect((await store.loadLease(key)).lease?.record).toMatchObject({
      holderIdentity: 'live',
      holderCluster: 'b',
    });
  });
});
