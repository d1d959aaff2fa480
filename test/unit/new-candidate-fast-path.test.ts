import { describe, expect, it } from 'vitest';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import type { ClusterPort, ClusterSource, RawObject } from '../../lib/ports/cluster.js';
import type { DecisionHistory } from '../../lib/ports/history.js';
import type { CoordinatorStore } from '../../lib/ports/store.js';
import { decideAndMirror } from '../../lib/sync/decide-now.js';
import { ingestCandidate } from '../../lib/sync/ingest-candidate.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { NewCandidateReads } from '../../lib/sync/new-candidate-reads.js';
import { heldByOld, twoClusters } from '../helpers/two-clusters.js';

/**
 * A lease grouped over "a" and "b" that nobody holds yet; its first candidate "first" is created
 * in "a", and ingest stores it from the watch's ADDED event with the reads beside its write.
 */
async function newCandidate(fixture = twoClusters()) {
  const { deps, planes } = fixture;
  const key = fixture.keyOf('kube-scheduler');
  planes.a.heartbeat({
    namespace: key.namespace,
    name: 'first',
    leaseName: key.name,
    binaryVersion: '1.35.0',
    emulationVersion: '1.35.0',
    strategy: 'OldestEmulationVersion',
  });
  const raw = planes.a.get('LeaseCandidate', { namespace: key.namespace, name: 'first' }) ?? {};
  const reads = new NewCandidateReads(deps);
  const ingested = await ingestCandidate(deps, 'a', 'ADDED', raw, true, reads.start);
  expect(ingested.outcome).toBe('stored');
  const change = await reads.known('a', ingested.stored);
  expect(change).toBeDefined();
  // What the fast path asks of the table and the clusters from here on.
  fixture.requests.length = 0;
  fixture.tableRequests.length = 0;
  return { ...fixture, key, change };
}

type Fixture = Awaited<ReturnType<typeof newCandidate>>;

const holderIn = (fixture: Fixture, cluster: 'a' | 'b') =>
  (fixture.planes[cluster].get('Lease', fixture.key)?.spec as { holderIdentity?: string } | undefined)
    ?.holderIdentity;

/** The fixture's clusters, telling `created` of each Lease created, once it is. */
function onLeaseCreated(fixture: Fixture, created: (cluster: string) => void): ClusterSource {
  return {
    get: async (name) => {
      const client = await fixture.deps.clusters.get(name);
      return Object.assign(Object.create(client) as ClusterPort, {
        createLease: async (lease: RawObject) => {
          const result = await client.createLease(lease);
          created(name);
          return result;
        },
      });
    },
  };
}

/** The history and the table of the fixture, noting in `order` when a record, a decision or a timer is written. */
function inOrder(fixture: Pick<Fixture, 'deps'>) {
  const order: string[] = [];
  const history: DecisionHistory = {
    reserve: async () => {
      order.push('history:reserve');
      return 1;
    },
    recent: async () => [],
    append: async () => void order.push('history:append'),
  };
  const store: CoordinatorStore = Object.create(fixture.deps.store);
  store.writeLease = async (...args) => {
    order.push('table:writeLease');
    return fixture.deps.store.writeLease(...args);
  };
  store.armTimer = async (...args) => {
    order.push('table:armTimer');
    return fixture.deps.store.armTimer(...args);
  };
  return { order, history, store };
}

/** Requests that change something: table writes, and Lease or Event writes in a cluster. */
const writes = (fixture: Fixture) => [
  ...fixture.tableRequests.filter((r) => r !== 'loadLease'),
  ...fixture.requests.filter((r) => !r.endsWith(':readLease')),
];

describe('the fast path elects a new candidate on what ingest read beside its write (unit: in-memory table and clusters)', () => {
  it('writes the decision and the Leases without reading the table or the clusters again', async () => {
    const fixture = await newCandidate();
    const { deps, key, change } = fixture;

    const step = await decideAndMirror(deps, deps, key, { change });

    expect(step.action).toBe('create');
    expect(step.write?.holderIdentity).toBe('first');
    expect(holderIn(fixture, 'a')).toBe('first');
    expect(holderIn(fixture, 'b')).toBe('first');
    // The table read and the Lease reads ran beside the candidate's write: none after it.
    expect(fixture.tableRequests).not.toContain('loadLease');
    expect(fixture.requests.filter((r) => r.endsWith(':readLease'))).toEqual([]);
    expect(fixture.requests.filter((r) => r.endsWith(':createLease')).sort()).toEqual([
      'a:createLease',
      'b:createLease',
    ]);
  });

  it('leaves the stream’s elect and mirror nothing to do afterwards', async () => {
    const fixture = await newCandidate();
    const { deps, key, change } = fixture;
    await decideAndMirror(deps, deps, key, { change });
    fixture.requests.length = 0;
    fixture.tableRequests.length = 0;

    // The stream delivers the candidate's write and the decision's to elect and mirror.
    const backstop = await reconcileLease(deps, key);
    await mirrorLease(deps, key);

    expect(backstop.action).toBe('none');
    expect(writes(fixture)).toEqual([]);
    expect(holderIn(fixture, 'a')).toBe('first');
  });

  it('decides again from the table when another writer decided after ingest read the lease', async () => {
    const fixture = await newCandidate();
    const { deps, key, change, store } = fixture;
    // The stream's elect takes the same step first: the lease ingest read is no longer current.
    const first = await reconcileLease(deps, key);
    expect(first.write?.holderIdentity).toBe('first');
    fixture.tableRequests.length = 0;

    await decideAndMirror(deps, deps, key, { change });

    // The lost compare-and-set, the retry's fresh read, then the mirror's read of the winner's decision.
    expect(fixture.tableRequests.filter((r) => r === 'loadLease')).toHaveLength(2);
    const record = (await store.loadLease(key)).lease?.record;
    // One term for one election, not two.
    expect(record?.holderIdentity).toBe('first');
    expect(record?.term).toBe(first.write?.term);
    expect(holderIn(fixture, 'a')).toBe('first');
    expect(holderIn(fixture, 'b')).toBe('first');
  });

  it('reads the table itself when the read beside the write failed', async () => {
    const fixture = twoClusters();
    const failing: CoordinatorStore = Object.create(fixture.deps.store);
    failing.loadLease = async () => Promise.reject(new Error('throttled'));
    const reads = new NewCandidateReads({ ...fixture.deps, store: failing });
    const key = fixture.keyOf('kube-scheduler');

    reads.start(key);

    expect(
      await reads.known('a', { name: 'first', cluster: 'a', sentRenewTime: 1 } as never),
    ).toBeUndefined();
  });
});

describe('decideAndMirror', () => {
  it('mirrors a decision once it is written, without waiting for its history record', async () => {
    const fixture = await newCandidate();
    const { key, change } = fixture;
    let storeRecord = () => {};
    const recordHeld = new Promise<void>((resolve) => {
      storeRecord = resolve;
    });
    const appended: number[] = [];
    const history: DecisionHistory = {
      reserve: async () => 1,
      recent: async () => [],
      append: async (_key, seq) => {
        await recordHeld;
        appended.push(seq);
      },
    };
    let leaseCreated = () => {};
    const created = new Promise<void>((resolve) => {
      leaseCreated = resolve;
    });
    const clusters = onLeaseCreated(fixture, () => leaseCreated());
    const deps = { ...fixture.deps, history, clusters };

    const deciding = decideAndMirror(deps, deps, key, { change });
    // The Lease shows the new holder while the history record is still being stored.
    await created;
    expect(holderIn(fixture, 'a') ?? holderIn(fixture, 'b')).toBe('first');
    expect(appended).toEqual([]);
    storeRecord();
    await deciding;
    expect(appended).toEqual([1]);
  });

  it('arms a first decision’s timer, and takes its history record’s number and stores it, only once its Leases are written', async () => {
    const fixture = await newCandidate();
    const { key, change } = fixture;
    const { order, history, store } = inOrder(fixture);
    const clusters = onLeaseCreated(fixture, (cluster) => order.push(`${cluster}:createLease`));
    const deps = { ...fixture.deps, store, history, clusters };

    const step = await decideAndMirror(deps, deps, key, { change });

    expect(step.action).toBe('create');
    // The record's number, the record and the timer all wait for the Leases: nothing beside the decision's write.
    const lastLease = Math.max(order.indexOf('a:createLease'), order.indexOf('b:createLease'));
    expect(order.indexOf('a:createLease')).toBeGreaterThan(order.indexOf('table:writeLease'));
    expect(order.indexOf('history:reserve')).toBeGreaterThan(lastLease);
    expect(order.indexOf('table:armTimer')).toBeGreaterThan(lastLease);
    expect(order.indexOf('history:append')).toBeGreaterThan(lastLease);
    expect(fixture.armed).toHaveLength(1);
  });

  it('arms a preemption’s timer, and takes its history record’s number and stores it, only once the Leases name the preferred holder', async () => {
    const fixture = await newCandidate();
    const { key, change, planes } = fixture;
    await decideAndMirror(fixture.deps, fixture.deps, key, { change });
    // A better candidate (an older emulation version) joins while "first" holds.
    planes.a.heartbeat({
      namespace: key.namespace,
      name: 'better',
      leaseName: key.name,
      binaryVersion: '1.35.0',
      emulationVersion: '1.34.0',
      strategy: 'OldestEmulationVersion',
    });
    const raw = planes.a.get('LeaseCandidate', { namespace: key.namespace, name: 'better' }) ?? {};
    const reads = new NewCandidateReads(fixture.deps);
    const ingested = await ingestCandidate(fixture.deps, 'a', 'ADDED', raw, true, reads.start);
    const joined = await reads.known('a', ingested.stored);
    const { order, history, store } = inOrder(fixture);
    const clusters: ClusterSource = {
      get: async (name) => {
        const client = await fixture.deps.clusters.get(name);
        const written = (result: Awaited<ReturnType<ClusterPort['replaceLease']>>) => {
          order.push(`${name}:leaseWritten`);
          return result;
        };
        return Object.assign(Object.create(client) as ClusterPort, {
          replaceLease: async (lease: RawObject) => written(await client.replaceLease(lease)),
          patchLease: async (...args: Parameters<ClusterPort['patchLease']>) =>
            written(await client.patchLease(...args)),
        });
      },
    };
    const deps = { ...fixture.deps, store, history, clusters };

    const step = await decideAndMirror(deps, deps, key, joined === undefined ? {} : { change: joined });

    expect(step.action).toBe('preempt');
    expect(step.write?.preferredHolder).toBe('better');
    const lastLease = Math.max(order.indexOf('a:leaseWritten'), order.indexOf('b:leaseWritten'));
    expect(lastLease).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('history:reserve')).toBeGreaterThan(lastLease);
    expect(order.indexOf('table:armTimer')).toBeGreaterThan(lastLease);
    expect(order.indexOf('history:append')).toBeGreaterThan(lastLease);
  });
  it('stores a takeover’s history record, number and all, only once its Lease write has ended', async () => {
    const fixture = await heldByOld();
    const { key } = fixture;
    // "old" stops renewing; "next" keeps renewing past old's deadline.
    fixture.advance(6_000);
    await fixture.heartbeat('a', key, 'next', '1.35.0');
    const { order, history, store } = inOrder(fixture);
    const written =
      (name: string) =>
      async <T>(result: Promise<T>) => {
        const done = await result;
        order.push(`${name}:leaseWritten`);
        return done;
      };
    const clusters: ClusterSource = {
      get: async (name) => {
        const client = await fixture.deps.clusters.get(name);
        const noted = written(name);
        return Object.assign(Object.create(client) as ClusterPort, {
          replaceLease: (lease: RawObject) => noted(client.replaceLease(lease)),
          patchLease: (...args: Parameters<ClusterPort['patchLease']>) => noted(client.patchLease(...args)),
        });
      },
    };
    const deps = { ...fixture.deps, store, history, clusters };

    const step = await decideAndMirror(deps, deps, key, {});

    expect(step.action).toBe('takeover');
    expect(await fixture.holder(key)).toBe('next');
    // The mirror names "next" in both clusters; the record's two writes come after the last of them.
    const lastLease = order.lastIndexOf('b:leaseWritten');
    expect(Math.min(lastLease, order.lastIndexOf('a:leaseWritten'))).toBeGreaterThan(
      order.indexOf('table:writeLease'),
    );
    expect(order.indexOf('history:reserve')).toBeGreaterThan(
      Math.max(lastLease, order.lastIndexOf('a:leaseWritten')),
    );
    // Its timer, unlike a first decision's, is armed beside the write: the new holder's deadline.
    expect(order.indexOf('table:armTimer')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('table:armTimer')).toBeLessThan(
      Math.min(lastLease, order.lastIndexOf('a:leaseWritten')),
    );
  });
});
