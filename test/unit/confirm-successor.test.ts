import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { UNREACHABLE_RETRY_MS } from '../../lib/coordinator/confirm-expiry.js';
import type { LeaseKey } from '../../lib/coordinator/ports.js';
import { type CoordinatorDeps, reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { holderLeaseReader } from '../../lib/sync/holder-lease-reader.js';
import { ingestCandidate, ingestLease } from '../../lib/sync/ingest.js';
import { type ClusterSource, mirrorLease } from '../../lib/sync/mirror.js';
import { InMemoryCluster } from '../helpers/in-memory-cluster.js';
import { InMemoryTable } from '../helpers/in-memory-store.js';

/**
 * One lease over clusters "a" and "b", each of which can be cut off from the coordinator. The
 * clock moves only when the test moves it; armed timers are recorded.
 */
function twoClusters() {
  let now = Date.UTC(2026, 6, 1, 12, 0, 0);
  const clock = () => now;
  const key: LeaseKey = { scope: 'a+b', namespace: 'kube-system', name: 'pair' };
  const table = new InMemoryTable(clock);
  const store = table.store(async () => {});
  const planes = { a: new InMemoryCluster('a', 0, clock), b: new InMemoryCluster('b', 0, clock) };
  const down = new Set<string>();
  const clusters: ClusterSource = {
    get: async (name) => {
      if (down.has(name)) throw new Error(`connect ECONNREFUSED (cluster ${name})`);
      return planes[name as 'a' | 'b'].port();
    },
  };
  const armed: number[] = [];
  const deps = {
    store,
    clock,
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    leases: () => key,
    clusters,
    timers: { deliverAt: async (_key: LeaseKey, dueAt: number) => void armed.push(dueAt) },
    readHolderLease: holderLeaseReader(clusters),
  } satisfies CoordinatorDeps & { clusters: ClusterSource };
  /** A candidate renews in its own cluster and ingest carries it into the table. */
  const heartbeat = (cluster: 'a' | 'b', name: string, emulationVersion: string) => {
    planes[cluster].heartbeat({
      namespace: key.namespace,
      name,
      leaseName: key.name,
      binaryVersion: '1.31.0',
      emulationVersion,
      strategy: 'OldestEmulationVersion',
    });
    const raw = planes[cluster].get('LeaseCandidate', { namespace: key.namespace, name }) ?? {};
    return ingestCandidate(deps, cluster, 'MODIFIED', raw);
  };
  return {
    key,
    deps,
    planes,
    armed,
    heartbeat,
    holder: async () => (await store.loadLease(key)).lease?.record.holderIdentity,
    cut: (cluster: string) => down.add(cluster),
    heal: (cluster: string) => down.delete(cluster),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('electing only into a cluster that answers (unit: in-memory table and clusters)', () => {
  it('leaves out the candidates of a cluster that does not answer, and looks again shortly', async () => {
    const { key, deps, armed, heartbeat, holder, cut } = twoClusters();
    await heartbeat('a', 'best', '1.30.0');
    await heartbeat('b', 'next', '1.31.0');
    cut('a');
    const step = await reconcileLease(deps, key);
    expect(step.action).not.toBe('none');
    expect(await holder()).toBe('next');
    expect(armed.at(-1)).toBeLessThanOrEqual(deps.clock() + UNREACHABLE_RETRY_MS);
  });

  it('elects the best candidate when its cluster answers (the same view, nothing cut)', async () => {
    const { key, deps, heartbeat, holder } = twoClusters();
    await heartbeat('a', 'best', '1.30.0');
    await heartbeat('b', 'next', '1.31.0');
    await reconcileLease(deps, key);
    expect(await holder()).toBe('best');
  });

  it('elects nobody while every candidate’s cluster is out, and looks again shortly', async () => {
    const { key, deps, armed, heartbeat, holder, cut, heal } = twoClusters();
    await heartbeat('a', 'best', '1.30.0');
    await heartbeat('b', 'next', '1.31.0');
    cut('a');
    cut('b');
    await reconcileLease(deps, key);
    expect(await holder()).toBeUndefined();
    expect(armed).toEqual([deps.clock() + UNREACHABLE_RETRY_MS]);
    heal('a');
    await reconcileLease(deps, key);
    expect(await holder()).toBe('best');
  });

  it('still elects a candidate that heartbeats over HTTP when its cluster does not answer: it reads its lease from our API', async () => {
    const { key, deps, heartbeat, holder, cut } = twoClusters();
    await deps.store.putHeartbeat(
      key,
      'a',
      {
        apiVersion: 'v1beta1',
        name: 'over-http',
        namespace: key.namespace,
        leaseName: key.name,
        binaryVersion: '1.31.0',
        emulationVersion: '1.30.0',
        strategy: 'OldestEmulationVersion',
        renewTime: deps.clock(),
      },
      deps.clock(),
    );
    await heartbeat('b', 'next', '1.31.0');
    cut('a');
    await reconcileLease(deps, key);
    expect(await holder()).toBe('over-http');
  });

  /** "best" in "a" leads and goes silent; "next" in "b" stays alive. */
  async function silentHolderInA() {
    const fixture = twoClusters();
    const { key, deps, planes, heartbeat, advance } = fixture;
    await heartbeat('a', 'best', '1.30.0');
    await heartbeat('b', 'next', '1.31.0');
    await reconcileLease(deps, key);
    await mirrorLease(deps, key);
    planes.a.renewLease(key, 'best', 5);
    await ingestLease(deps, 'a', planes.a.get('Lease', key) ?? {});
    advance(6_000);
    await heartbeat('b', 'next', '1.31.0');
    return fixture;
  }

  it('takes over from a silent holder in a cluster that answers, into the other cluster', async () => {
    const { key, deps, holder } = await silentHolderInA();
    expect((await reconcileLease(deps, key)).action).toBe('takeover');
    expect(await holder()).toBe('next');
  });

  it('TakeOver: the holder’s cluster out, a candidate in the other cluster takes over; Wait keeps the holder', async () => {
    const { key, deps, holder, cut } = await silentHolderInA();
    cut('a');
    await reconcileLease(deps, key);
    expect(await holder()).toBe('best');
    await reconcileLease({ ...deps, holderClusterUnreachable: () => 'TakeOver' }, key);
    expect(await holder()).toBe('next');
  });

  it('TakeOver gives nobody the lease when the only other candidate’s cluster is out too', async () => {
    const { key, deps, holder, cut } = await silentHolderInA();
    cut('a');
    cut('b');
    await reconcileLease({ ...deps, holderClusterUnreachable: () => 'TakeOver' }, key);
    expect(await holder()).toBe('best');
  });
});
