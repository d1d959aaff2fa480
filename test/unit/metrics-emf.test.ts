import { describe, expect, it } from 'vitest';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { METRIC_NAMESPACE } from '../../lib/ports/metrics.js';
import { capturedEmf, sums, values } from '../helpers/emf-capture.js';
import { singleCluster } from '../helpers/single-cluster.js';

describe('EmfMetrics (unit: the EMF lines read back from stdout)', () => {
  it('sums a counter into one value per invocation, with its dimension and an undimensioned rollup', async () => {
    const { metrics, invocation } = capturedEmf('lease-coordinator-prod');
    const lines = await invocation(async () => {
      metrics.record('MirrorWrites', 1, 'east');
      metrics.record('MirrorWrites', 1, 'east');
      metrics.record('MirrorWrites', 1, 'west');
    });
    expect(lines).toHaveLength(2);
    const [east] = lines;
    expect(east?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: METRIC_NAMESPACE,
        Dimensions: [['service', 'Cluster'], ['service']],
        Metrics: [{ Name: 'MirrorWrites', Unit: 'Count' }],
      },
    ]);
    expect(east).toMatchObject({ service: 'lease-coordinator-prod', Cluster: 'east', MirrorWrites: 2 });
    expect(sums(lines, 'MirrorWrites')).toEqual({ east: 2, west: 1, '': 3 });
  });

  it('keeps every duration, the last value of a gauge, and writes nothing when nothing was recorded', async () => {
    const { metrics, invocation } = capturedEmf();
    const lines = await invocation(async () => {
      metrics.record('IngestLag', 12, 'east');
      metrics.record('IngestLag', 40, 'east');
      metrics.record('LeasesWithoutLiveHolder', 3);
      metrics.record('LeasesWithoutLiveHolder', 1);
    });
    expect(values(lines, 'IngestLag')).toEqual({ east: [12, 40], '': [12, 40] });
    expect(values(lines, 'LeasesWithoutLiveHolder')).toEqual({ '': [1] });
    // Flushed: the next invocation starts from nothing and, with nothing recorded, writes nothing.
    expect(await invocation(async () => {})).toEqual([]);
  });

  it('splits more than 100 values of one metric over lines that each carry the dimension', async () => {
    const { metrics, invocation } = capturedEmf();
    const lines = await invocation(async () => {
      for (let i = 0; i < 250; i++) metrics.record('IngestLag', i, 'east');
      metrics.record('IngestErrors', 1, 'east');
    });
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line.Cluster).toBe('east');
    expect(values(lines, 'IngestLag').east).toHaveLength(250);
    expect(sums(lines, 'IngestErrors')).toEqual({ east: 1, '': 1 });
  });

  it('keeps a Scope and a Cluster of the same name apart', async () => {
    const { metrics, invocation } = capturedEmf();
    const lines = await invocation(async () => {
      metrics.record('Elections', 1, 'alpha');
      metrics.record('MirrorWrites', 1, 'alpha');
    });
    expect(lines.map((l) => [l.Scope, l.Cluster])).toEqual([
      ['alpha', undefined],
      [undefined, 'alpha'],
    ]);
  });
});

describe('the coordinator’s election metrics (unit: in-memory table, EMF from stdout)', () => {
  /** One lease in cluster "c"; each reconcile runs as its own invocation with one flush. */
  function fleet() {
    const single = singleCluster();
    const emf = capturedEmf();
    const deps = { ...single.deps, metrics: emf.metrics };
    const reconcile = () => emf.invocation(() => reconcileLease(deps, single.key));
    const total = (name: string) => sums(emf.lines, name)[''] ?? 0;
    return { ...single, ...emf, reconcile, total };
  }

  it('counts the first election, a preemption requested and completed, each once, however often the lease is looked at', async () => {
    const { heartbeat, reconcile, total, lines, store, key, clock, advance } = fleet();
    await heartbeat('a', '1.31.0');
    await reconcile();
    await reconcile();
    expect(total('Elections')).toBe(1);
    expect(total('HolderChanges')).toBe(1);
    expect(sums(lines, 'Elections')).toEqual({ c: 1, '': 1 });

    // An older emulation version arrives: the live holder is asked to yield, once.
    advance(1_000);
    await heartbeat('b', '1.30.0');
    await reconcile();
    await reconcile();
    expect(total('PreemptionsRequested')).toBe(1);
    expect((await store.loadLease(key)).lease?.record.preferredHolder).toBe('b');

    // The holder steps down (client-go releases): b is elected, a preemption completed, no failover.
    advance(1_000);
    await store.recordRenewal(
      key,
      { holderIdentity: '', expectedHolder: 'a', leaseDurationSeconds: 5 },
      clock(),
    );
    await heartbeat('b', '1.30.0');
    await reconcile();
    await reconcile();
    expect((await store.loadLease(key)).lease?.record.holderIdentity).toBe('b');
    expect(total('Elections')).toBe(2);
    expect(total('HolderChanges')).toBe(2);
    expect(total('PreemptionsCompleted')).toBe(1);
    expect(total('Failovers')).toBe(0);
    expect(total('FailoverDuration')).toBe(0);
  });

  it('counts an election once when elect, requeue and ingest’s fast path decide the same lease at once', async () => {
    const { heartbeat, total, invocation, deps, key, metrics } = fleet();
    await heartbeat('a', '1.31.0');
    const racing = { ...deps, metrics };
    await invocation(() =>
      Promise.all([reconcileLease(racing, key), reconcileLease(racing, key), reconcileLease(racing, key)]),
    );
    expect(total('Elections')).toBe(1);
    expect(total('HolderChanges')).toBe(1);
  });

  it('counts a failover once, timed from the silent holder’s deadline to the new holder written', async () => {
    const { heartbeat, reconcile, total, lines, store, key, advance } = fleet();
    await heartbeat('b', '1.30.0');
    await reconcile();
    const elected = (await store.loadLease(key)).lease?.record;
    expect(elected?.holderIdentity).toBe('b');
    await heartbeat('a', '1.31.0');
    // b goes silent; a renews. Past b's deadline (renewTime + 5 s) by 2 s, a takes over.
    advance(7_000);
    await heartbeat('a', '1.31.0');
    await reconcile();
    await reconcile();
    expect((await store.loadLease(key)).lease?.record.holderIdentity).toBe('a');
    expect(total('Failovers')).toBe(1);
    expect(values(lines, 'FailoverDuration')).toEqual({ c: [2_000], '': [2_000] });
    expect(total('Elections')).toBe(2);
    expect(total('PreemptionsCompleted')).toBe(0);
  });

  it('counts the pings a step sends and, at the vote, the ones left unanswered', async () => {
    const { heartbeat, reconcile, total, advance } = fleet();
    await heartbeat('a', '1.31.0');
    await heartbeat('b', '1.30.0');
    // Neither has renewed in the last 5 s: both are pinged before a first vote.
    advance(6_000);
    await reconcile();
    expect(total('PingsSent')).toBe(2);
    expect(total('Elections')).toBe(0);
    // a answers, b does not; once b's window has closed, a is elected without it.
    advance(1_000);
    await heartbeat('a', '1.31.0');
    advance(4_500);
    await reconcile();
    await reconcile();
    expect(total('Elections')).toBe(1);
    expect(total('PingsUnanswered')).toBe(1);
    expect(total('PingsSent')).toBe(2);
  });
});
