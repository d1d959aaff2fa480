import { describe, expect, it } from 'vitest';
import { FENCED_HOLDER, TERM_ANNOTATION } from '../../lib/api/lease.js';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { handleSweep } from '../../lib/handlers/sweep.js';
import { anyCaller } from '../../lib/http/callers.js';
import type { ClusterPort, ClusterSource, RawObject } from '../../lib/ports/cluster.js';
import type { CoordinatorStore } from '../../lib/ports/store.js';
import { holderLeaseFence } from '../../lib/sync/holder-lease-reader.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { wireCoordinator } from '../../lib/wiring/coordinator.js';
import type { InMemoryCluster } from '../helpers/in-memory-cluster.js';
import { heldByOld, type PairCluster, twoClusters } from '../helpers/two-clusters.js';

/**
 * Found by the fault-injection e2e test (gate mixed, test 2c then 3): "b-two" held a lease grouped
 * over alpha and beta; its apiserver hung, it stopped leading, and the takeover was held off until
 * beta answered again. client-go's coordinated elector renews a Lease that names it whenever the
 * Lease changed since it last looked, however long expired: its own last renewal counts as such a
 * change when it reads the Lease again after its apiserver stopped answering. b-two renewed just
 * after the takeover's read of its Lease; the takeover named "a-two" in alpha, the mirror wrote over
 * b-two's renewal in beta, and both led until b-two's renew deadline. A takeover now takes the
 * expired holder off its Lease, on the condition that the Lease is still as read, before it names
 * the successor.
 */
describe('takeover from an expired holder that renews right after its Lease is read (unit: in-memory clusters)', () => {
  /** b-two holds from "b", elected and mirrored into both clusters; a-two stands by in "a". */
  async function heldFromB() {
    const fixture = twoClusters();
    const key = fixture.keyOf('faults', 'default');
    /** Runs once, just after the next read of the Lease in "b" is answered. */
    let afterBRead: (() => void) | undefined;
    const clients = {
      get: async (name: string): Promise<ClusterPort> => {
        const port = await fixture.deps.clusters.get(name);
        if (name !== 'b') return port;
        return new Proxy(port, {
          get(target, property, receiver) {
            if (property === 'readLease')
              return async (...args: Parameters<ClusterPort['readLease']>) => {
                const lease = await target.readLease(...args);
                const hook = afterBRead;
                afterBRead = undefined;
                hook?.();
                return lease;
              };
            const value: unknown = Reflect.get(target, property, receiver);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
      },
      names: () => ['a', 'b'],
      httpOnly: () => false,
    };
    /** Runs once, just before the next decision is written to the table. */
    let beforeWrite: (() => void) | undefined;
    const store: CoordinatorStore = Object.assign(Object.create(fixture.store) as CoordinatorStore, {
      writeLease: (...args: Parameters<CoordinatorStore['writeLease']>) => {
        const hook = beforeWrite;
        beforeWrite = undefined;
        hook?.();
        return fixture.store.writeLease(...args);
      },
    });
    // The one wiring every runtime uses, fence included where it has one.
    const deps = wireCoordinator({
      store,
      timers: fixture.deps.timers,
      clock: fixture.deps.clock,
      logger: fixture.deps.logger,
      policies: { leases: fixture.deps.leases, callers: anyCaller },
      clients,
    });
    const mirror = deps.clusterWiring;
    if (mirror === undefined) throw new Error('clusters are registered: the wiring has a cluster side');
    await fixture.heartbeat('b', key, 'b-two', '1.34.0');
    await fixture.heartbeat('a', key, 'a-two', '1.35.0');
    await reconcileLease(deps, key);
    await mirrorLease(mirror, key);
    const holderIn = (cluster: PairCluster) =>
      (fixture.planes[cluster].get('Lease', key)?.spec as { holderIdentity?: string } | undefined)
        ?.holderIdentity;
    /**
     * b-two's apiserver hung past its lease while a-two kept renewing its LeaseCandidate; then the
     * failover runs, decision and mirror, and b-two renews at `when`. What its renewal came to.
     */
    const failOverWithRenewalAt = async (when: 'after the holder read' | 'before the decision write') => {
      fixture.advance(6_000);
      await fixture.heartbeat('a', key, 'a-two', '1.35.0');
      let renewal: ReturnType<InMemoryCluster['renewLease']> | undefined;
      const renew = () => {
        renewal = fixture.planes.b.renewLease(key, 'b-two', 5);
      };
      if (when === 'after the holder read') afterBRead = renew;
      else beforeWrite = renew;
      await reconcileLease(deps, key);
      await mirrorLease(mirror, key);
      return renewal;
    };
    /**
     * The same failover with b-two's Lease gone from "b" (deleted, or never written there): just after
     * the read finds none, a mirror pass of the decision from before writes it again (the sweep
     * repairs a missing Lease), and b-two, which client-go has renew a Lease that names it, renews it.
     */
    const failOverOverAbsentLease = async (rewritten: boolean) => {
      fixture.advance(6_000);
      await fixture.heartbeat('a', key, 'a-two', '1.35.0');
      const lease = structuredClone(fixture.planes.b.get('Lease', key) as RawObject);
      fixture.planes.b.delete('Lease', key, undefined, 'someone');
      let renewal: ReturnType<InMemoryCluster['renewLease']> | undefined;
      if (rewritten)
        afterBRead = () => {
          const { resourceVersion: _stale, ...metadata } = lease.metadata ?? {};
          fixture.planes.b.create('Lease', { ...lease, metadata }, 'coordinator');
          renewal = fixture.planes.b.renewLease(key, 'b-two', 5);
        };
      await reconcileLease(deps, key);
      await mirrorLease(mirror, key);
      return renewal;
    };
    /**
     * The same failover with b-two's Lease in "b" showing an older write than the record (it names
     * nobody, as a release or a fence left it, the decision's own write still to come): just after
     * the read, a mirror pass of the decision writes b-two there, and b-two renews it.
     */
    const failOverOverStaleLease = async (rewritten: boolean) => {
      fixture.advance(6_000);
      await fixture.heartbeat('a', key, 'a-two', '1.35.0');
      const lease = fixture.planes.b.get('Lease', key) as RawObject;
      const spec = lease.spec as Record<string, unknown>;
      fixture.planes.b.replace('Lease', { ...lease, spec: { ...spec, holderIdentity: '' } }, 'someone');
      let renewal: ReturnType<InMemoryCluster['renewLease']> | undefined;
      if (rewritten)
        afterBRead = () => {
          const stale = fixture.planes.b.get('Lease', key) as RawObject;
          fixture.planes.b.replace('Lease', { ...stale, spec }, 'coordinator');
          renewal = fixture.planes.b.renewLease(key, 'b-two', 5);
        };
      await reconcileLease(deps, key);
      await mirrorLease(mirror, key);
      return renewal;
    };
    return {
      ...fixture,
      key,
      holderIn,
      failOverWithRenewalAt,
      failOverOverAbsentLease,
      failOverOverStaleLease,
    };
  }

  /** The concurrency model found it (seed 509294266): the read found no Lease, so nothing was fenced. */
  it('a Lease read absent and written with the holder before the successor is named keeps the lease with it', async () => {
    const { key, holder, holderIn, failOverOverAbsentLease } = await heldFromB();

    const renewal = await failOverOverAbsentLease(true);

    expect(renewal).toMatchObject({ ok: true });
    expect(await holder(key)).toBe('b-two');
    expect(holderIn('b')).toBe('b-two');
  });

  it('a Lease read absent is fenced by creating it, under our term, and the successor is named', async () => {
    const { key, holder, holderIn, failOverOverAbsentLease, planes } = await heldFromB();

    await failOverOverAbsentLease(false);

    expect(await holder(key)).toBe('a-two');
    const deleted = planes.b.history.findIndex((w) => w.kind === 'Lease' && w.by === 'someone');
    const fence = planes.b.history
      .slice(deleted + 1)
      .find((w) => w.kind === 'Lease' && w.by === 'coordinator');
    expect(fence?.object?.spec).toMatchObject({ holderIdentity: FENCED_HOLDER, leaseDurationSeconds: 5 });
    expect(fence?.object?.metadata?.annotations?.[TERM_ANNOTATION]).toBe('1');
    expect(holderIn('b')).toBe('a-two');
  });

  /**
   * The concurrency model found it (seed -427346611): the read found an older write than the record's
   * on the Lease, naming another, so nothing was fenced, and a late mirror pass put the holder there
   * before the successor was named.
   */
  it('a Lease read naming another, then written with the holder before the successor is named, keeps the lease with it', async () => {
    const { key, holder, holderIn, failOverOverStaleLease } = await heldFromB();

    const renewal = await failOverOverStaleLease(true);

    expect(renewal).toMatchObject({ ok: true });
    expect(await holder(key)).toBe('b-two');
    expect(holderIn('b')).toBe('b-two');
  });

  it('a Lease read naming another is fenced on the version read, and the successor is named', async () => {
    const { key, holder, holderIn, failOverOverStaleLease, planes } = await heldFromB();

    await failOverOverStaleLease(false);

    expect(await holder(key)).toBe('a-two');
    expect(holderIn('b')).toBe('a-two');
    const stale = planes.b.history.findLastIndex((w) => w.kind === 'Lease' && w.by === 'someone');
    const fence = planes.b.history.slice(stale + 1).find((w) => w.kind === 'Lease' && w.by === 'coordinator');
    expect(fence?.object?.spec).toMatchObject({ holderIdentity: FENCED_HOLDER, leaseDurationSeconds: 5 });
    expect(fence?.object?.metadata?.annotations?.[TERM_ANNOTATION]).toBe('1');
  });

  it('a renewal just after the read keeps the lease with the holder: no successor is named anywhere', async () => {
    const { key, holder, holderIn, failOverWithRenewalAt } = await heldFromB();
    expect(await holder(key)).toBe('b-two');

    const renewal = await failOverWithRenewalAt('after the holder read');

    expect(renewal).toMatchObject({ ok: true });
    expect(await holder(key)).toBe('b-two');
    expect(holderIn('a')).toBe('b-two');
    expect(holderIn('b')).toBe('b-two');
  });

  it('a renewal once the successor is being named is refused: the holder is off its Lease already', async () => {
    const { key, holder, holderIn, failOverWithRenewalAt } = await heldFromB();

    const renewal = await failOverWithRenewalAt('before the decision write');

    expect(renewal).toBe('not-holder');
    expect(await holder(key)).toBe('a-two');
    expect(holderIn('a')).toBe('a-two');
    expect(holderIn('b')).toBe('a-two');
  });
});

/**
 * The review of the fence found two ways it emptied a Lease that ingest then read as a release by
 * someone who had not let go: a takeover that keeps the holder and only moves it to the cluster
 * where it renews, and a Lease without our term annotation. The fence now runs last, only for a
 * takeover that names another identity, and always leaves our term on the Lease.
 */
describe('the fence, only where a successor is named, and always under our term (unit: in-memory clusters)', () => {
  /** The Lease `cluster` shows once any patch of it has gone in (the fence is the only patch here). */
  function recordingPatches(fixture: ReturnType<typeof twoClusters>, key: ReturnType<typeof fixture.keyOf>) {
    const patched: { cluster: string; lease: RawObject | undefined }[] = [];
    const clusters: ClusterSource = {
      get: async (name) => {
        const port = await fixture.deps.clusters.get(name);
        return new Proxy(port, {
          get(target, property, receiver) {
            if (property === 'patchLease')
              return async (...args: Parameters<ClusterPort['patchLease']>) => {
                const result = await target.patchLease(...args);
                patched.push({
                  cluster: name,
                  lease: structuredClone(fixture.planes[name as PairCluster].get('Lease', key)),
                });
                return result;
              };
            const value: unknown = Reflect.get(target, property, receiver);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
      },
    };
    return { patched, fenceHolderLease: holderLeaseFence(clusters) };
  }

  it('a takeover that keeps the holder, moved to the cluster where it renews, fences nothing', async () => {
    const fixture = twoClusters();
    const { deps } = fixture;
    const key = fixture.keyOf('kube-scheduler');
    await fixture.heartbeat('b', key, 'H', '1.34.0');
    await fixture.heartbeat('a', key, 'X', '1.35.0');
    await handleSweep(deps);
    await mirrorLease(deps, key);
    expect((await deps.store.loadLease(key)).lease?.record).toMatchObject({
      holderIdentity: 'H',
      holderCluster: 'b',
    });
    fixture.advance(6_000);
    // H's process runs in "a" now; its LeaseCandidate in "b" is left behind.
    await fixture.heartbeat('a', key, 'H', '1.34.0');
    await fixture.heartbeat('a', key, 'X', '1.35.0');
    const { patched, fenceHolderLease } = recordingPatches(fixture, key);

    const step = await reconcileLease({ ...deps, fenceHolderLease }, key);

    expect(step.write).toMatchObject({ holderIdentity: 'H', holderCluster: 'a', term: 1 });
    expect(patched).toEqual([]);
  });

  it('a Lease under a newer term of ours is never fenced: a later decision wrote it, and ours will lose', async () => {
    const fixture = await heldByOld();
    const { deps, key, planes } = fixture;
    const lease = planes.a.get('Lease', key) as RawObject;
    // Another decider's term 2 already reached "a", naming "next"; this decider still reads term 1.
    planes.a.replace(
      'Lease',
      {
        ...lease,
        metadata: {
          ...lease.metadata,
          annotations: { ...lease.metadata?.annotations, [TERM_ANNOTATION]: '2' },
        },
        spec: { ...(lease.spec as object), holderIdentity: 'next' },
      },
      'coordinator',
    );
    fixture.advance(6_000);
    await fixture.heartbeat('a', key, 'next', '1.35.0');
    const { patched, fenceHolderLease } = recordingPatches(fixture, key);

    await reconcileLease({ ...deps, fenceHolderLease }, key);

    expect(patched).toEqual([]);
    expect((planes.a.get('Lease', key)?.spec as { holderIdentity?: string }).holderIdentity).toBe('next');
  });

  it('a Lease without our term annotation is fenced under the term on record, which ingest then reads as drift', async () => {
    const fixture = await heldByOld();
    const { deps, key, planes } = fixture;
    const lease = planes.a.get('Lease', key) as RawObject;
    const { [TERM_ANNOTATION]: _ours, ...others } = lease.metadata?.annotations ?? {};
    planes.a.replace('Lease', { ...lease, metadata: { ...lease.metadata, annotations: others } }, 'someone');
    fixture.advance(6_000);
    await fixture.heartbeat('a', key, 'next', '1.35.0');
    const { patched, fenceHolderLease } = recordingPatches(fixture, key);

    const step = await reconcileLease({ ...deps, fenceHolderLease }, key);
    const fenced = patched[0]?.lease;

    expect(step.write).toMatchObject({ holderIdentity: 'next', term: 2 });
    expect(fenced?.metadata?.annotations?.[TERM_ANNOTATION]).toBe('1');
    // The watch delivers the fence's own write after the decision: not a release by `next`.
    expect((await ingestLease(deps, 'a', fenced as RawObject)).outcome).toBe('drift');
    expect((await deps.store.loadLease(key)).lease?.record).toMatchObject({
      holderIdentity: 'next',
      term: 2,
    });
  });
});

/**
 * Found by the concurrency model (seed 2065198755): a holder that renews through our API (the
 * `leases` routes) holds a lease whose cluster also has a Lease, which the mirror writes for it. A
 * takeover found it expired, fenced that Lease and lost its own write; the holder renewed through
 * our API, as the holder may while nobody has taken its lease. Ingest then read the fence as the
 * holder's release and named the successor in its place, while the holder had been told it holds
 * for another lease duration: two leaders.
 */
describe('a takeover’s fence seen by ingest after the holder renewed through our API (unit: in-memory clusters)', () => {
  async function fencedThenRenewed() {
    const fixture = await heldByOld();
    const { deps, key, planes } = fixture;
    fixture.advance(6_000);
    await fixture.heartbeat('a', key, 'next', '1.35.0');
    // The takeover's fence, as it writes it; its decision is never written.
    const read = planes.a.get('Lease', key) as RawObject;
    const resourceVersion = read.metadata?.resourceVersion as string;
    const fenced = await holderLeaseFence(deps.clusters)('a', key, {
      resourceVersion,
      term: 1,
      at: deps.clock(),
      leaseDurationSeconds: 5,
    });
    expect(fenced).toBe(true);
    const renewal = { holderIdentity: 'old', expectedHolder: 'old', leaseDurationSeconds: 5 };
    await deps.store.recordRenewal(key, renewal, deps.clock());
    return { ...fixture, fence: planes.a.get('Lease', key) as RawObject };
  }

  it('is our own write, not the holder’s release: the renewed holder keeps the lease', async () => {
    const { deps, key, fence } = await fencedThenRenewed();
    expect((fence.spec as { holderIdentity: string }).holderIdentity).toBe(FENCED_HOLDER);

    expect((await ingestLease(deps, 'a', fence)).outcome).toBe('unchanged');
    expect((await deps.store.loadLease(key)).lease?.record).toMatchObject({ holderIdentity: 'old', term: 1 });
  });

  it('is not offered to be taken over in place of a release', async () => {
    const { deps, key, fence } = await fencedThenRenewed();
    const offered: string[] = [];
    const takeOverRelease = async () => {
      offered.push(key.name);
      return 'declined' as const;
    };

    await ingestLease(deps, 'a', fence, { takeOverRelease });

    expect(offered).toEqual([]);
    expect((await deps.store.loadLease(key)).lease?.record.holderIdentity).toBe('old');
  });

  it('is written over by a mirror pass, which puts the renewed holder back on its Lease', async () => {
    const { deps, key, planes } = await fencedThenRenewed();

    await mirrorLease(deps, key);

    expect((planes.a.get('Lease', key)?.spec as { holderIdentity?: string }).holderIdentity).toBe('old');
  });
});
