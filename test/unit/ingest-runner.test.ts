import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { type IngestOptions, ingestClusters } from '../../lib/handlers/ingest.js';
import { anyCaller } from '../../lib/http/callers.js';
import type { ClusterPort } from '../../lib/ports/cluster.js';
import type { IngestDeps } from '../../lib/ports/coordinator.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import type { CoordinatorStore } from '../../lib/ports/store.js';
import { untilAborted } from '../../lib/sync/abortable.js';
import { storedCandidateVersions } from '../../lib/sync/handled-versions.js';
import { runClusterIngest } from '../../lib/sync/ingest-runner.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { wireCoordinator } from '../../lib/wiring/coordinator.js';
import { countingHeartbeats } from '../helpers/counting-store.js';
import { InMemoryCluster } from '../helpers/in-memory-cluster.js';
import { InMemoryTable } from '../helpers/in-memory-store.js';

const KEY: LeaseKey = { scope: 'c', namespace: 'kube-system', name: 'solo' };

/** The candidate renews its LeaseCandidate in the cluster (created on first use). */
function renewIn(cluster: InMemoryCluster, name: string): void {
  cluster.heartbeat({
    namespace: KEY.namespace,
    name,
    leaseName: KEY.name,
    binaryVersion: '1.31.0',
    emulationVersion: '1.31.0',
    strategy: 'OldestEmulationVersion',
  });
}

/** Runs one cluster's ingest until `done` holds after some event, then stops it. */
async function ingestUntil(
  store: CoordinatorStore,
  port: ClusterPort,
  now: number,
  done: () => Promise<boolean>,
  stored?: Promise<ReadonlyMap<string, string> | undefined>,
): Promise<void> {
  const stop = new AbortController();
  await new Promise<void>((resolve) => {
    void runClusterIngest(
      {
        store,
        clock: () => now,
        logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
        leases: () => KEY,
        clusters: { get: async () => port },
      },
      'c',
      stop.signal,
      {
        onEvent: async () => {
          if (await done()) resolve();
        },
        ...(stored !== undefined && { stored }),
      },
    );
  });
  stop.abort();
}

/** The shape of one ingest run in these tests: until `done` holds after some stored event. */
type IngestRun = (
  store: CoordinatorStore,
  port: ClusterPort,
  now: number,
  done: () => Promise<boolean>,
) => Promise<void>;

/**
 * Candidates a, b and c in a cluster that sends no watch events (each run sees it through its
 * first list alone), stored by a last run of `run`; then b renews. What a new run should write: b.
 */
async function lastRunStoredThreeThenBRenews(run: IngestRun) {
  let now = Date.UTC(2026, 10, 25, 12);
  const store = new InMemoryTable(() => now).store();
  const cluster = new InMemoryCluster('c', 0, () => now);
  for (const name of ['a', 'b', 'c']) renewIn(cluster, name);
  const port = cluster.port();
  port.watch = async () => new AbortController();
  await run(store, port, now, async () => (await store.loadLease(KEY)).candidates.length === 3);
  now += 1_000;
  renewIn(cluster, 'b');
  return { store, cluster, port, now };
}

describe('cluster ingest, list then watch (unit: in-memory table and cluster)', () => {
  it('relists when an object of the list could not be stored, so it is not left out until the next change', async () => {
    const now = Date.UTC(2026, 10, 25, 12);
    const table = new InMemoryTable(() => now);
    let failures = 1;
    const store = table.store(async (request) => {
      // The table refuses the first candidate write, as a throttled table would.
      if (request.startsWith('putHeartbeat') && failures-- > 0) throw new Error('throttled');
    });
    const cluster = new InMemoryCluster('c', 0, () => now);
    renewIn(cluster, 'a');
    const lists: string[] = [];
    const port = cluster.port(async (request) => {
      if (request.endsWith('listCandidates')) lists.push(request);
    });
    // No live watch here: one that stays open and says nothing.
    port.watch = async () => new AbortController();
    await ingestUntil(store, port, now, async () => true);
    expect(failures).toBeLessThan(0);
    expect(lists.length).toBe(2);
    expect((await store.loadLease(KEY)).candidates.map((c) => c.name)).toEqual(['a']);
  });

  it('a relist writes again only the candidates it did not store or that changed, not the whole list', async () => {
    const now = Date.UTC(2026, 10, 25, 12);
    const table = new InMemoryTable(() => now);
    const written: string[] = [];
    let refuse = 'b';
    const store = table.store();
    const cluster = new InMemoryCluster('c', 0, () => now);
    const heartbeat = (name: string) => renewIn(cluster, name);
    for (const name of ['a', 'b', 'c']) heartbeat(name);
    let lists = 0;
    const port = cluster.port(async (request) => {
      if (request.endsWith('listCandidates')) lists++;
    });
    port.watch = async () => new AbortController();
    // "b" cannot be stored on the first list, as with a throttled table; "c" renews before the relist.
    const failing: typeof store = Object.create(store);
    failing.putHeartbeat = async (...args) => {
      written.push(args[2].name);
      if (args[2].name === refuse) {
        refuse = '';
        heartbeat('c');
        throw new Error('throttled');
      }
      return store.putHeartbeat(...args);
    };
    await ingestUntil(
      failing,
      port,
      now,
      async () => (await store.loadLease(KEY)).candidates.length === 3 && lists === 2,
    );
    // First list: a, c (b refused). Relist: b (never stored) and c (renewed since); a is skipped.
    expect(lists).toBe(2);
    expect(written.sort()).toEqual(['a', 'b', 'b', 'c', 'c']);
    const stored = (await store.loadLease(KEY)).candidates;
    expect(stored.map((c) => c.name).sort()).toEqual(['a', 'b', 'c']);
    const latestC = cluster.get('LeaseCandidate', { namespace: KEY.namespace, name: 'c' }) as {
      spec: { renewTime: string };
    };
    expect(stored.find((c) => c.name === 'c')?.sentRenewTime).toBe(Date.parse(latestC.spec.renewTime));
  });

  it('a fresh ingest seeded from the table writes only what changed since the last run (the deployed one starts every minute)', async () => {
    const { store, cluster, port, now } = await lastRunStoredThreeThenBRenews((...run) =>
      ingestUntil(...run),
    );
    const { counting, written } = countingHeartbeats(store);
    const stored = await storedCandidateVersions(store);
    expect([...(stored.get('c')?.keys() ?? [])].sort()).toEqual([
      'leasecandidates/kube-system/a',
      'leasecandidates/kube-system/b',
      'leasecandidates/kube-system/c',
    ]);

    const latestB = () =>
      Date.parse(
        (
          cluster.get('LeaseCandidate', { namespace: KEY.namespace, name: 'b' }) as {
            spec: { renewTime: string };
          }
        ).spec.renewTime,
      );
    await ingestUntil(
      counting,
      port,
      now,
      async () =>
        (await store.loadLease(KEY)).candidates.find((c) => c.name === 'b')?.sentRenewTime === latestB(),
      Promise.resolve(stored.get('c')),
    );
    expect(written).toEqual(['b']);
  });

  it('a scan of the stored candidates that fails only costs the first list its skips: every candidate is written', async () => {
    const now = Date.UTC(2026, 10, 25, 12);
    const table = new InMemoryTable(() => now);
    const store = table.store();
    const cluster = new InMemoryCluster('c', 0, () => now);
    for (const name of ['a', 'b']) renewIn(cluster, name);
    const port = cluster.port();
    port.watch = async () => new AbortController();
    const { counting, written } = countingHeartbeats(store);
    await ingestUntil(
      counting,
      port,
      now,
      async () => (await store.loadLease(KEY)).candidates.length === 2,
      Promise.reject(new Error('scan throttled')),
    );
    expect(written.sort()).toEqual(['a', 'b']);
  });
});

/** The deps of one cluster's ingest, with this store and cluster port. */
function ingestDeps(store: CoordinatorStore, port: ClusterPort, now: number): IngestDeps {
  return {
    store,
    clock: () => now,
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    leases: () => KEY,
    clusters: { get: async () => port },
  };
}

/** Something the test awaits: `fire()` resolves `fired` (later calls do nothing). */
function event(): { fire: () => void; fired: Promise<void> } {
  let fire: () => void = () => {};
  const fired = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { fire, fired };
}

/** A promise that never settles: an apiserver that accepted the request and never answers. */
const never = () => new Promise<never>(() => {});

describe('a fresh ingest run watches as soon as it has listed (unit)', () => {
  it('starts the watches before what the lists show is stored, and stores what they deliver meanwhile', async () => {
    const now = Date.UTC(2026, 10, 25, 12);
    const cluster = new InMemoryCluster('c', 0, () => now);
    for (let i = 0; i < 20; i++) renewIn(cluster, `listed-${i}`);
    const port = cluster.port();
    const watchStarted = event();
    let deliver: (object: Record<string, unknown>) => void = () => {};
    port.watch = async (path, _version, _rv, onEvent) => {
      if (path === 'leasecandidates') {
        deliver = (object) => onEvent('ADDED', object);
        watchStarted.fire();
      }
      return new AbortController();
    };
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const table = new InMemoryTable(() => now);
    // The table is slow: no listed candidate is stored until the test says so.
    const store = table.store(async (request) => {
      if (request.startsWith('putHeartbeat')) await released;
    });
    const stop = new AbortController();
    const allStored = event();
    const run = runClusterIngest(ingestDeps(store, port, now), 'c', stop.signal, {
      onEvent: async () => {
        if ((await table.store().loadLease(KEY)).candidates.length === 21) allStored.fire();
      },
    });
    await watchStarted.fired;
    expect((await table.store().loadLease(KEY)).candidates).toEqual([]);
    // A candidate that joins while the lists are still being stored is seen by this run's watch.
    renewIn(cluster, 'joined');
    deliver(cluster.get('LeaseCandidate', { namespace: KEY.namespace, name: 'joined' }) ?? {});
    release();
    await allStored.fired;
    stop.abort();
    await run;
  });
});

describe('cluster ingest stops when its signal aborts, whatever it is doing (unit)', () => {
  it('during the Lease list: the run ends, and no watch is started', async () => {
    const now = Date.UTC(2026, 10, 25, 12);
    const cluster = new InMemoryCluster('c', 0, () => now);
    renewIn(cluster, 'a');
    const listing = event();
    const port = cluster.port(async (request) => {
      if (request.endsWith('listLeases')) {
        listing.fire();
        await never();
      }
    });
    let watches = 0;
    port.watch = async () => {
      watches++;
      return new AbortController();
    };
    const stop = new AbortController();
    const run = runClusterIngest(
      ingestDeps(new InMemoryTable(() => now).store(), port, now),
      'c',
      stop.signal,
    );
    await listing.fired;
    stop.abort();
    await run;
    expect(watches).toBe(0);
  });

  it('during a relist (after a watch ended): the run ends, and no watch is started again', async () => {
    const now = Date.UTC(2026, 10, 25, 12);
    const cluster = new InMemoryCluster('c', 0, () => now);
    renewIn(cluster, 'a');
    let lists = 0;
    const relisting = event();
    const port = cluster.port(async (request) => {
      if (request.endsWith('listCandidates') && ++lists === 2) {
        relisting.fire();
        await never();
      }
    });
    let watches = 0;
    port.watch = async (_path, _version, _rv, _onEvent, onDone) => {
      watches++;
      // The first watches end at once, as an apiserver closes them; the relist then hangs.
      setImmediate(() => onDone(new Error('watch closed')));
      return new AbortController();
    };
    const stop = new AbortController();
    const run = runClusterIngest(
      ingestDeps(new InMemoryTable(() => now).store(), port, now),
      'c',
      stop.signal,
    );
    await relisting.fired;
    const watchesBefore = watches;
    stop.abort();
    await run;
    expect(lists).toBe(2);
    expect(watches).toBe(watchesBefore);
  });

  it('during the watch: the run ends and its watches are aborted', async () => {
    const now = Date.UTC(2026, 10, 25, 12);
    const cluster = new InMemoryCluster('c', 0, () => now);
    renewIn(cluster, 'a');
    const port = cluster.port();
    const opened: AbortController[] = [];
    const watching = event();
    port.watch = async () => {
      const watch = new AbortController();
      opened.push(watch);
      watching.fire();
      return watch;
    };
    const stop = new AbortController();
    const run = runClusterIngest(
      ingestDeps(new InMemoryTable(() => now).store(), port, now),
      'c',
      stop.signal,
    );
    await watching.fired;
    stop.abort();
    await run;
    expect(opened.length).toBeGreaterThan(0);
    expect(opened.every((w) => w.signal.aborted)).toBe(true);
  });

  it('while the listed objects are being stored: what is not yet stored is dropped, not waited for', async () => {
    const now = Date.UTC(2026, 10, 25, 12);
    const cluster = new InMemoryCluster('c', 0, () => now);
    for (let i = 0; i < 100; i++) renewIn(cluster, `c${i}`);
    const port = cluster.port();
    port.watch = async () => new AbortController();
    const writing = event();
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let writes = 0;
    const store = new InMemoryTable(() => now).store(async (request) => {
      if (!request.startsWith('putHeartbeat')) return;
      writes++;
      writing.fire();
      // Each write waits until the test lets them go: the table is slow.
      await released;
    });
    const stop = new AbortController();
    const run = runClusterIngest(ingestDeps(store, port, now), 'c', stop.signal);
    await writing.fired;
    stop.abort();
    release();
    await run;
    // The writes under way (at most one per slot of ingest's concurrency) finished; the rest were dropped.
    expect(writes).toBeLessThan(100);
  });

  it('a stop that came before the wait began is seen at once (a listener added late would never fire)', async () => {
    const stop = new AbortController();
    stop.abort();
    await expect(untilAborted(stop.signal, never())).rejects.toThrow();
    // And work that settles first is passed on as it settled.
    expect(await untilAborted(new AbortController().signal, Promise.resolve('listed'))).toBe('listed');
  });
});

/** The coordinator as every runtime wires it, over one cluster and a clock stopped at `now`. */
function wiredTo(store: CoordinatorStore, port: ClusterPort, now: number, key = KEY) {
  return wireCoordinator({
    store,
    timers: { deliverAt: async () => {} },
    clock: () => now,
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    policies: { leases: () => key, callers: anyCaller },
    clients: { get: async () => port, names: () => ['c'], httpOnly: () => false },
  });
}

/**
 * One run of ingest as every runtime starts it (ingestClusters: the deployed schedule and the local
 * runtime alike), over the one wiring, until `done` holds after some stored event.
 */
const runIngestClusters = async (
  store: CoordinatorStore,
  port: ClusterPort,
  now: number,
  done: () => Promise<boolean>,
  options: IngestOptions = {},
  key = KEY,
): Promise<void> => {
  const deps = wiredTo(store, port, now, key);
  const clusters = deps.clusterWiring;
  if (clusters === undefined) throw new Error('a registered cluster must give a cluster wiring');
  const stop = new AbortController();
  await ingestClusters(deps, clusters, stop.signal, {
    ...options,
    onEvent: () => void done().then((yes) => yes && stop.abort()),
  });
};

/**
 * "a" holds the lease, and each `renewalThenRun` renews its Lease (15 s) `afterMs` on and runs ingest
 * once, a few milliseconds later, through the Lease's list alone: the table requests it made.
 */
async function heldLeaseRunByRun(key = KEY) {
  let now = Date.UTC(2026, 10, 25, 12);
  const requests: string[] = [];
  const store = new InMemoryTable(() => now).store(async (request) => {
    requests.push(request);
  });
  const cluster = new InMemoryCluster('c', 0, () => now);
  renewIn(cluster, 'a');
  const port = cluster.port();
  port.watch = async () => new AbortController();
  const anyEvent = async () => true;
  await runIngestClusters(store, port, now, anyEvent, {}, key);
  const deps = wiredTo(store, port, now, key);
  await reconcileLease(deps, key);
  if (deps.clusterWiring === undefined) throw new Error('a registered cluster must give a cluster wiring');
  await mirrorLease(deps.clusterWiring, key);
  const renewalThenRun = async (afterMs: number, options: (now: number) => IngestOptions = () => ({})) => {
    now += afterMs;
    expect(cluster.renewLease(KEY, 'a', 15)).toMatchObject({ ok: true });
    now += 3;
    requests.length = 0;
    await runIngestClusters(store, port, now, anyEvent, options(now), key);
    return requests.filter((r) => r !== 'scanLeases');
  };
  const record = async () => (await store.loadLease(key)).lease;
  return { renewalThenRun, record, store, port, now: () => now };
}

describe('ingest as every runtime runs it (unit: in-memory table and cluster)', () => {
  it('seeds its first list from the table: a new run writes only the candidates that changed since the last', async () => {
    const { store, port, now } = await lastRunStoredThreeThenBRenews(runIngestClusters);
    const { counting, written } = countingHeartbeats(store);
    const renewedB = async () =>
      (await store.loadLease(KEY)).candidates.find((c) => c.name === 'b')?.sentRenewTime === now;
    await runIngestClusters(counting, port, now, renewedB);
    expect(written).toEqual(['b']);
  });

  it('seeds its holders from the table: a new run’s list records no renewal that a running ingest would keep', async () => {
    const { renewalThenRun, record } = await heldLeaseRunByRun();
    expect(await renewalThenRun(2_000)).toContain('observeLease:update');
    const recorded = await record();
    expect(recorded?.observedRenewTime).toBeDefined();

    // The next renewal moves the deadline by 2 s, within ingest's bound (5 s): nothing is read or written.
    expect(await renewalThenRun(2_000)).toEqual([]);
    expect(await record()).toEqual(recorded);
    // One past the bound is one write, without a read.
    expect(await renewalThenRun(4_000)).toEqual(['renewObservedLease']);
  });

  it('waits only so long for a start scan that does not end: the first list is handled without its hints', async () => {
    const { store, port, now } = await heldLeaseRunByRun();
    let handled = 0;
    await ingestUntil(store, port, now(), async () => ++handled === 1, new Promise(() => {}));
    expect(handled).toBe(1);
  });

  it('hands holders’ renewals over to the next run: once it has, a run records none, however far the record lags', async () => {
    const { renewalThenRun, record } = await heldLeaseRunByRun();
    await renewalThenRun(2_000);
    const recorded = await record();
    expect(await renewalThenRun(6_000, (now) => ({ handsOverAt: now - 1 }))).toEqual([]);
    expect(await renewalThenRun(6_000, (now) => ({ handsOverAt: now - 1 }))).toEqual([]);
    expect(await record()).toEqual(recorded);
    // Before its handover, the same renewal is recorded.
    expect(await renewalThenRun(2_000, (now) => ({ handsOverAt: now + 1 }))).toEqual(['renewObservedLease']);
  });

  it('keeps recording a lease group’s renewals after its handover: the other clusters’ copies follow the record', async () => {
    const { renewalThenRun } = await heldLeaseRunByRun({ ...KEY, scope: 'c+d' });
    await renewalThenRun(2_000);
    expect(await renewalThenRun(6_000, (now) => ({ handsOverAt: now - 1 }))).toContain('renewObservedLease');
  });
});

describe('one ingest run over many clusters (unit: in-memory table and clusters)', () => {
  it('keeps every cluster’s listeners on the run’s one signal without a listener-leak warning', async () => {
    const now = Date.UTC(2026, 10, 25, 12);
    const names = Array.from({ length: 12 }, (_, i) => `c${i}`);
    const planes = new Map(names.map((name) => [name, new InMemoryCluster(name, 0, () => now)]));
    for (const plane of planes.values()) renewIn(plane, 'a');
    const deps = wireCoordinator({
      store: new InMemoryTable(() => now).store(),
      timers: { deliverAt: async () => {} },
      clock: () => now,
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
      policies: { leases: (cluster) => ({ ...KEY, scope: cluster }), callers: anyCaller },
      clients: {
        get: async (name) => {
          const port = (planes.get(name) as InMemoryCluster).port();
          // A watch that stays open and sends nothing: each cluster is seen through its list.
          port.watch = async () => new AbortController();
          return port;
        },
        names: () => names,
        httpOnly: () => false,
      },
    });
    const clusters = deps.clusterWiring;
    if (clusters === undefined) throw new Error('registered clusters must give a cluster wiring');
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const stop = new AbortController();
    let stored = 0;
    let allStored: () => void = () => {};
    const everyClusterWatching = new Promise<void>((resolve) => {
      allStored = resolve;
    });
    try {
      // Each cluster's listed candidate is stored after its watches and relist control are in place.
      const run = ingestClusters(deps, clusters, stop.signal, {
        onEvent: () => {
          stored += 1;
          if (stored === names.length) allStored();
        },
      });
      await everyClusterWatching;
      // Node emits the warning on the next tick after the listener that crosses its limit.
      await new Promise<void>((resolve) => setImmediate(resolve));
      stop.abort();
      await run;
    } finally {
      process.off('warning', onWarning);
    }
    expect(stored).toBe(names.length);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });
});
