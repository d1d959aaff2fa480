import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { resolveStrategy } from '../../lib/election/strategy.js';
import { type Candidate, type CandidateApiVersion, CRD_CANDIDATE_API } from '../../lib/election/types.js';
import { handleSweep } from '../../lib/handlers/sweep.js';
import { anyCaller } from '../../lib/http/callers.js';
import { handleHeartbeat } from '../../lib/http/heartbeat-api.js';
import { gatesFor, parseCount, parseGate } from '../../lib/kube-local/local-clusters.js';
import { candidateApiLine, LiveView } from '../../lib/local/live-view.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import {
  backingOff,
  REDISCOVER_EVERY_MS,
  STARTING_AGAIN_FIRST_LOOK_MS,
} from '../../lib/sync/candidate-api.js';
import { runClusterIngest } from '../../lib/sync/ingest-runner.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { InMemoryCluster } from '../helpers/in-memory-cluster.js';
import { InMemoryTable } from '../helpers/in-memory-store.js';
import { singleCluster } from '../helpers/single-cluster.js';

/**
 * Clusters where the CoordinatedLeaderElection gate is off (every managed control plane): the
 * LeaseCandidate CRD read where the built-in API is not served, a cluster serving neither said out
 * loud, and pings that do not land counted as errors. The same against real apiservers is in
 * test/integration/managed-clusters.integration.test.ts.
 */

const KEY: LeaseKey = { scope: 'c', namespace: 'kube-system', name: 'solo' };
const NOW = Date.UTC(2026, 11, 3, 12);

function silentLogger() {
  return new Logger({ serviceName: 'test', logLevel: 'SILENT' });
}

function renewIn(cluster: InMemoryCluster, name: string) {
  return cluster.heartbeat({
    namespace: KEY.namespace,
    name,
    leaseName: KEY.name,
    binaryVersion: '1.35.0',
    emulationVersion: '1.35.0',
    strategy: 'OldestEmulationVersion',
  });
}

/**
 * One cluster's ingest, watches open and silent (or ending at once with `endWatches`), until
 * `done` holds after an event or an API report; then stopped.
 */
async function ingest(
  cluster: InMemoryCluster,
  options: {
    logger?: Logger;
    onApi?: (api: CandidateApiVersion | undefined) => void;
    endWatches?: number;
    /** Asked after each event, API report and watch start. */
    done: (table: InMemoryTable, watchesStarted: number) => Promise<boolean>;
    table?: InMemoryTable;
    /** How often a cluster without the built-in API is asked again; 5 ms unless given. */
    rediscoverEveryMs?: number;
    /** What discovery answers on its nth call (from 1); the cluster's own answer when undefined is returned. */
    discovery?: (call: number) => { served: CandidateApiVersion | undefined } | undefined;
  },
) {
  const table = options.table ?? new InMemoryTable(() => NOW);
  const store = table.store();
  const discoveries: string[] = [];
  const port = cluster.port(async (request) => {
    if (request.endsWith(':discovery')) discoveries.push(request);
  });
  const served = port.candidateVersion.bind(port);
  let discoveryCalls = 0;
  port.candidateVersion = async () => {
    const answer = options.discovery?.(++discoveryCalls);
    return answer === undefined ? served() : answer.served;
  };
  let endWatches = options.endWatches ?? 0;
  let watchesStarted = 0;
  let check = async () => {};
  port.watch = async (_path, _version, _rv, _onEvent, onDone) => {
    const watch = new AbortController();
    watchesStarted++;
    if (endWatches > 0) {
      endWatches--;
      queueMicrotask(() => onDone(undefined));
    } else {
      queueMicrotask(() => void check());
    }
    return watch;
  };
  const stop = new AbortController();
  await new Promise<void>((resolve) => {
    check = async () => {
      if (await options.done(table, watchesStarted)) resolve();
    };
    void runClusterIngest(
      {
        store,
        clock: () => NOW,
        logger: options.logger ?? silentLogger(),
        leases: () => KEY,
        clusters: { get: async () => port },
      },
      'c',
      stop.signal,
      {
        onEvent: check,
        onCandidateApi: (api) => {
          options.onApi?.(api);
          void check();
        },
        rediscoverEveryMs: options.rediscoverEveryMs ?? 5,
      },
    );
  });
  stop.abort();
  return { table, discoveries };
}

describe('managed clusters: the gate off (unit: in-memory table and clusters)', () => {
  it('an in-memory gate-off cluster drops strategy and preferredHolder from Lease writes, as the apiserver does', () => {
    const cluster = new InMemoryCluster('c', 0, () => NOW, { gate: 'off' });
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { namespace: 'default', name: 'demo' },
      spec: { holderIdentity: 'a', strategy: 'OldestEmulationVersion', preferredHolder: 'b' },
    };
    expect(cluster.create('Lease', lease, 'test').ok).toBe(true);
    const created = cluster.get('Lease', { namespace: 'default', name: 'demo' });
    expect(created?.spec).toEqual({ holderIdentity: 'a' });
    expect(cluster.replace('Lease', { ...lease, metadata: created?.metadata ?? {} }, 'test').ok).toBe(true);
    expect(cluster.get('Lease', { namespace: 'default', name: 'demo' })?.spec).toEqual({
      holderIdentity: 'a',
    });
  });

  it('reads LeaseCandidates from the CRD in a gate-off cluster and stores them under its apiVersion', async () => {
    const cluster = new InMemoryCluster('c', 0, () => NOW, { gate: 'off' });
    expect(renewIn(cluster, 'crd-cand').ok).toBe(true);
    const apis: (CandidateApiVersion | undefined)[] = [];
    const { table } = await ingest(cluster, {
      onApi: (api) => apis.push(api),
      done: async (t) => (await t.store().loadLease(KEY)).candidates.length === 1,
    });
    expect(apis).toEqual([CRD_CANDIDATE_API]);
    const [stored] = (await table.store().loadLease(KEY)).candidates;
    expect(stored?.apiVersion).toBe(CRD_CANDIDATE_API);
  });

  it('warns once per run about a cluster that serves neither API, naming it and the CRD to apply, however often it relists', async () => {
    const cluster = new InMemoryCluster('c', 0, () => NOW, { gate: 'off', crd: false });
    const logger = silentLogger();
    const warn = vi.spyOn(logger, 'warn');
    const apis: (CandidateApiVersion | undefined)[] = [];
    let reports = 0;
    const { discoveries } = await ingest(cluster, {
      logger,
      onApi: (api) => {
        apis.push(api);
        reports++;
      },
      // Three watches end (three relists), then the fourth list-and-watch stays.
      endWatches: 3,
      done: async (_table, watches) => reports > 0 && watches === 4,
    });
    expect(discoveries).toHaveLength(4);
    expect(apis).toEqual([undefined]);
    const warnings = warn.mock.calls.map(([message]) => String(message));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('cluster c serves no LeaseCandidate API');
    expect(warnings[0]).toContain('infra/kubernetes/leasecandidate-crd.yaml');
  });

  it('takes a cluster that served the CRD and lists nothing for a moment for an apiserver starting again: looks again soon, warns of nothing', async () => {
    // A kube-apiserver that has just started lists one API group, then all of them (the e2e fault
    // injection met it). Read as the truth, its candidates went unread for a rediscovery interval.
    const cluster = new InMemoryCluster('c', 0, () => NOW, { gate: 'off' });
    const logger = silentLogger();
    const warn = vi.spyOn(logger, 'warn');
    const apis: (CandidateApiVersion | undefined)[] = [];
    const { table } = await ingest(cluster, {
      logger,
      onApi: (api) => apis.push(api),
      // The first watch ends (the apiserver restarts); the relist's discovery finds nothing served,
      // and a candidate registers in the CRD meanwhile.
      endWatches: 1,
      discovery: (call) => {
        if (call !== 2) return undefined;
        renewIn(cluster, 'late');
        return { served: undefined };
      },
      // Far beyond the test's timeout: only a look sooner than that reads the candidate.
      rediscoverEveryMs: 600_000,
      done: async (t) => (await t.store().loadLease(KEY)).candidates.length === 1,
    });
    expect((await table.store().loadLease(KEY)).candidates[0]?.name).toBe('late');
    expect(apis).toEqual([CRD_CANDIDATE_API]);
    expect(warn.mock.calls.map(([message]) => String(message))).toEqual([]);
  });

  it('looks again at such a cluster from a quarter second on, doubling, for one rediscovery interval in all', () => {
    expect([...backingOff(STARTING_AGAIN_FIRST_LOOK_MS, REDISCOVER_EVERY_MS)]).toEqual([
      250, 500, 1_000, 2_000, 4_000, 2_250,
    ]);
    expect([...backingOff(250, 40)]).toEqual([40]);
  });

  it('warns about a cluster that served the CRD once it has listed nothing for a rediscovery interval', async () => {
    const cluster = new InMemoryCluster('c', 0, () => NOW, { gate: 'off' });
    const logger = silentLogger();
    const warn = vi.spyOn(logger, 'warn');
    const apis: (CandidateApiVersion | undefined)[] = [];
    await ingest(cluster, {
      logger,
      onApi: (api) => apis.push(api),
      endWatches: 1,
      // Served at first, then never again (the CRD deleted).
      discovery: (call) => (call === 1 ? undefined : { served: undefined }),
      rediscoverEveryMs: 40,
      done: async () => apis.length === 2,
    });
    expect(apis).toEqual([CRD_CANDIDATE_API, undefined]);
    const warnings = warn.mock.calls.map(([message]) => String(message));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('cluster c serves no LeaseCandidate API');
  });

  it('picks up a CRD applied while ingest runs, without a restart', async () => {
    const cluster = new InMemoryCluster('c', 0, () => NOW, { gate: 'off', crd: false });
    const apis: (CandidateApiVersion | undefined)[] = [];
    const { table } = await ingest(cluster, {
      onApi: (api) => {
        apis.push(api);
        // Nothing served at first: the CRD is applied, and a candidate registers in it.
        if (api === undefined) {
          cluster.installCrd();
          renewIn(cluster, 'late');
        }
      },
      done: async (t) => (await t.store().loadLease(KEY)).candidates.length === 1,
    });
    expect(apis).toEqual([undefined, CRD_CANDIDATE_API]);
    expect((await table.store().loadLease(KEY)).candidates[0]?.apiVersion).toBe(CRD_CANDIDATE_API);
  });

  it('pings a CRD candidate by setting pingTime on its CRD object', async () => {
    const world = singleCluster('c', 'solo', 'kube-system', { gate: 'off' });
    await world.heartbeat('stale', '1.30.0');
    world.advance(60_000);
    // A vote with a candidate silent for a minute pings it first.
    await handleSweep(world.deps);
    const { candidates } = await world.store.loadLease(world.key);
    expect(candidates[0]?.awaitingAck).toBe(true);
    await mirrorLease(world.deps, world.key);
    const object = world.cluster.get('LeaseCandidate', { namespace: 'kube-system', name: 'stale' });
    expect(object?.apiVersion).toBe(CRD_CANDIDATE_API);
    expect((object?.spec as { pingTime?: string }).pingTime).toBeDefined();
  });

  it('logs a ping that cannot be delivered as an error and counts it as failed, not sent', async () => {
    const world = singleCluster('c', 'solo', 'kube-system', { gate: 'off' });
    await world.heartbeat('gone', '1.30.0');
    world.advance(60_000);
    await handleSweep(world.deps);
    // The API disappears (the CRD removed): the candidate may still exist, but cannot be asked.
    world.cluster.installCrd(false);
    const error = vi.spyOn(world.deps.logger, 'error');
    const debug = vi.spyOn(world.deps.logger, 'debug');
    await mirrorLease(world.deps, world.key);
    expect(error).toHaveBeenCalledWith(
      'ping not delivered',
      expect.objectContaining({ cluster: 'c', candidate: 'gone', reason: 'NotServed' }),
    );
    const mirrored = debug.mock.calls.find(([message]) => message === 'mirrored')?.[1] as
      | { pinged: string[]; pingsFailed: string[] }
      | undefined;
    expect(mirrored?.pinged).toEqual([]);
    expect(mirrored?.pingsFailed).toEqual(['gone']);
    // It is kept: only its cluster can say it is gone.
    expect((await world.store.loadLease(world.key)).candidates.map((c) => c.name)).toEqual(['gone']);
  });

  it('removes a candidate whose object a ping finds deleted, without an error, as ingest does on its DELETED event', async () => {
    const world = singleCluster('c', 'solo', 'kube-system', { gate: 'off' });
    await world.heartbeat('stays', '1.31.0');
    await world.heartbeat('gone', '1.30.0');
    world.advance(60_000);
    await world.heartbeat('stays', '1.31.0');
    await handleSweep(world.deps);
    expect(
      (await world.store.loadLease(world.key)).candidates.find((c) => c.name === 'gone')?.awaitingAck,
    ).toBe(true);
    // The pod withdraws (its agent deletes the object) before ingest hears of it.
    world.cluster.delete('LeaseCandidate', { namespace: 'kube-system', name: 'gone' }, undefined, 'agent');
    const error = vi.spyOn(world.deps.logger, 'error');
    const info = vi.spyOn(world.deps.logger, 'info');
    const debug = vi.spyOn(world.deps.logger, 'debug');
    await mirrorLease(world.deps, world.key);
    expect(error).not.toHaveBeenCalled();
    expect(info).toHaveBeenCalledWith(
      'candidate deleted before its ping; removed',
      expect.objectContaining({ cluster: 'c', candidates: ['gone'] }),
    );
    const mirrored = debug.mock.calls.find(([message]) => message === 'mirrored')?.[1] as
      | { pinged: string[]; pingsGone: string[]; pingsFailed: string[] }
      | undefined;
    expect(mirrored).toMatchObject({ pingsGone: ['gone'], pingsFailed: [] });
    expect(mirrored?.pinged).not.toContain('gone');
    expect((await world.store.loadLease(world.key)).candidates.map((c) => c.name)).toEqual(['stays']);
  });

  it('keeps a deleted candidate that was recreated and renewed after the ping’s read', async () => {
    const world = singleCluster('c', 'solo', 'kube-system', { gate: 'off' });
    await world.heartbeat('back', '1.30.0');
    world.advance(60_000);
    await handleSweep(world.deps);
    const read = await world.store.loadLease(world.key);
    world.cluster.delete('LeaseCandidate', { namespace: 'kube-system', name: 'back' }, undefined, 'agent');
    // The pod comes back under the same name and renews; ingest stores it before the ping goes.
    world.advance(1_000);
    await world.heartbeat('back', '1.30.0');
    world.cluster.delete('LeaseCandidate', { namespace: 'kube-system', name: 'back' }, undefined, 'agent');
    const info = vi.spyOn(world.deps.logger, 'info');
    await mirrorLease(world.deps, world.key, read);
    expect(info).not.toHaveBeenCalledWith('candidate deleted before its ping; removed', expect.anything());
    const [kept] = (await world.store.loadLease(world.key)).candidates;
    expect(kept?.name).toBe('back');
    expect(kept?.sentRenewTime).toBeGreaterThan(
      read.candidates[0]?.sentRenewTime ?? Number.POSITIVE_INFINITY,
    );
  });

  it('a candidate heard over HTTP gets its ping in the heartbeat response, not as a write in its cluster', async () => {
    const world = singleCluster('c', 'solo', 'kube-system', { gate: 'off', crd: false });
    // A body that carries a resourceVersion (copied from some cluster) is still a candidate heard over HTTP.
    const response = await handleHeartbeat({ ...world.deps, callers: anyCaller }, {
      pathParameters: { cluster: 'c' },
      body: JSON.stringify({
        apiVersion: CRD_CANDIDATE_API,
        kind: 'LeaseCandidate',
        metadata: { name: 'http-cand', namespace: 'kube-system', resourceVersion: '42' },
        spec: {
          leaseName: 'solo',
          binaryVersion: '1.35.0',
          emulationVersion: '1.30.0',
          strategy: 'OldestEmulationVersion',
          renewTime: new Date(world.clock()).toISOString(),
        },
      }),
    } as unknown as APIGatewayProxyEventV2);
    expect(response.statusCode).toBe(201);
    expect(JSON.parse(String(response.body)).apiVersion).toBe(CRD_CANDIDATE_API);
    expect((await world.store.loadLease(world.key)).candidates[0]?.resourceVersion).toBeUndefined();
    world.advance(60_000);
    await handleSweep(world.deps);
    expect((await world.store.loadLease(world.key)).candidates[0]?.awaitingAck).toBe(true);
    const error = vi.spyOn(world.deps.logger, 'error');
    const pings: string[] = [];
    const port = world.cluster.port(async (request) => {
      if (request.endsWith('pingCandidate')) pings.push(request);
    });
    await mirrorLease({ ...world.deps, clusters: { get: async () => port } }, world.key);
    expect(pings).toEqual([]);
    expect(error).not.toHaveBeenCalled();
  });

  it('resolves the strategy of CRD candidates exactly as of v1beta1 ones', () => {
    const candidate = (
      apiVersion: CandidateApiVersion,
      binaryVersion: string,
      strategy: string,
    ): Candidate => ({
      cluster: 'c',
      namespace: 'default',
      name: `${apiVersion}-${binaryVersion}`,
      leaseName: 'demo',
      apiVersion,
      binaryVersion,
      emulationVersion: '1.30.0',
      strategy,
      creationTimestamp: NOW,
      renewTime: NOW,
    });
    const mixed = [
      candidate(CRD_CANDIDATE_API, '1.35.0', 'x.io/y'),
      candidate('v1beta1', '1.34.0', 'OldestEmulationVersion'),
    ];
    const same = [
      candidate('v1beta1', '1.35.0', 'x.io/y'),
      candidate('v1beta1', '1.34.0', 'OldestEmulationVersion'),
    ];
    expect(resolveStrategy(mixed)).toBe(resolveStrategy(same));
    expect(resolveStrategy(mixed)).toBe('x.io/y');
    // Two strategies at the same highest version: an error, whichever API each came from.
    expect(() =>
      resolveStrategy([
        candidate(CRD_CANDIDATE_API, '1.35.0', 'a.io/a'),
        candidate('v1beta1', '1.35.0', 'b.io/b'),
      ]),
    ).toThrow(/disagree on strategy/);
  });

  it('shows in the live view which LeaseCandidate API each cluster is read from, and loudly when none', () => {
    const written: string[] = [];
    const out = {
      isTTY: false,
      write: (text: string) => written.push(text),
    } as unknown as NodeJS.WriteStream;
    const view = new LiveView(out);
    view.candidateApi('cluster-a', 'v1beta1');
    view.candidateApi('cluster-b', undefined);
    view.candidateApi('cluster-b', CRD_CANDIDATE_API);
    expect(written).toEqual([
      'cluster-a  LeaseCandidates from coordination.k8s.io/v1beta1\n',
      `${candidateApiLine('cluster-b', undefined)}\n`,
      'cluster-b  LeaseCandidates from coordination.lease-coordinator.dev/v1\n',
    ]);
    expect(candidateApiLine('cluster-b', undefined)).toMatch(
      /^cluster-b {2}NO LeaseCandidate API: .*apply infra\/kubernetes\/leasecandidate-crd\.yaml$/,
    );
  });

  it('npm run clusters: --gate takes off, on or mixed (alternating, cluster-a on) and names itself when wrong', () => {
    expect(gatesFor('mixed', 3)).toEqual(['on', 'off', 'on']);
    expect(gatesFor('off', 2)).toEqual(['off', 'off']);
    expect(parseGate('on')).toBe('on');
    expect(() => parseGate('sometimes')).toThrow(
      /^--gate must be one of off, on, mixed \(got "sometimes"\)$/,
    );
    expect(() => parseCount('0')).toThrow(/^--count must be/);
  });
});
