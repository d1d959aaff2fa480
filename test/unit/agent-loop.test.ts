import { Logger } from '@aws-lambda-powertools/logger';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type AgentDeps, runAgent, STARTING_HEALTH_RETRY_MS } from '../../lib/agent/agent.js';
import {
  BUILTIN_GROUP,
  type CandidateApi,
  CRD_API,
  type ServedGroups,
} from '../../lib/agent/candidate-api.js';
import { alwaysHealthy, type HealthProbe } from '../../lib/agent/health.js';
import type { CandidateEvent, CandidatePort, RawCandidate } from '../../lib/agent/kube.js';
import { formatMicroTime } from '../../lib/api/time.js';
import { ApiStatusError } from '../../lib/kube/apiserver.js';

/**
 * The agent's loop against a fake cluster whose writes the test can hold open, for the orderings a
 * real apiserver produces only by chance: a ping that lands while a renewal is in flight, a signal
 * during a write, a cluster that starts serving the built-in API.
 */

const T0 = Date.UTC(2026, 6, 1, 12, 0, 0);
const BUILTIN: CandidateApi = { group: BUILTIN_GROUP, version: 'v1beta1' };
const key = (api: CandidateApi) => `${api.group}/${api.version}`;

type Watcher = { api: string; onEvent: (e: CandidateEvent) => void; onDone: (error: unknown) => void };

/** One LeaseCandidate per API, integer resourceVersions, watch events delivered on a later turn. */
class FakeCluster implements CandidatePort {
  served_: ServedGroups = new Map([[CRD_API.group, ['v1']]]);
  readonly objects = new Map<string, RawCandidate & { spec: Record<string, unknown> }>();
  readonly log: string[] = [];
  /** Every call but discovery, writes and reads alike, in order. */
  readonly calls: string[] = [];
  /** Runs inside the next write, after the server applied it and before the agent hears back. */
  hold: (() => Promise<void>) | undefined;
  private rv = 0;
  private watchers = new Set<Watcher>();
  private waiters: (() => void)[] = [];

  /** How many times the agent read discovery. */
  discoveries = 0;

  async served(): Promise<ServedGroups> {
    this.discoveries++;
    this.wake();
    return this.served_;
  }

  async read(api: CandidateApi) {
    this.calls.push(`read ${key(api)}`);
    const object = this.objects.get(key(api));
    return {
      ...(object !== undefined && { object: structuredClone(object) }),
      resourceVersion: String(this.rv),
    };
  }

  async watch(api: CandidateApi, _rv: string, onEvent: Watcher['onEvent'], onDone: Watcher['onDone']) {
    this.calls.push(`watch ${key(api)}`);
    const watcher = { api: key(api), onEvent, onDone };
    this.watchers.add(watcher);
    const controller = new AbortController();
    controller.signal.addEventListener('abort', () => this.watchers.delete(watcher));
    this.wake();
    return controller;
  }

  /** The agent watches its LeaseCandidate (its first create goes out before the watch starts). */
  get watching(): boolean {
    return this.watchers.size > 0;
  }

  /** Ends every watch, as an apiserver does after its timeout. */
  endWatches(): void {
    for (const w of this.watchers) setImmediate(() => w.onDone(null));
    this.watchers.clear();
  }

  private store(api: CandidateApi, spec: Record<string, unknown>): RawCandidate {
    const object = {
      metadata: { name: 'elector-0', namespace: 'default', resourceVersion: String(++this.rv) },
      spec,
    };
    this.objects.set(key(api), object);
    const copy = structuredClone(object);
    for (const w of this.watchers)
      if (w.api === key(api)) setImmediate(() => w.onEvent({ type: 'object', object: copy }));
    this.wake();
    return copy;
  }

  private async answer<T>(op: string, result: T): Promise<T> {
    this.log.push(op);
    this.calls.push(op);
    const hold = this.hold;
    this.hold = undefined;
    await hold?.();
    this.wake();
    return result;
  }

  async create(api: CandidateApi, spec: Record<string, unknown>) {
    const existing = this.objects.get(key(api));
    return this.answer(`create ${key(api)}`, existing ? structuredClone(existing) : this.store(api, spec));
  }

  async createIfAbsent(api: CandidateApi, spec: Record<string, unknown>) {
    if (this.objects.has(key(api))) {
      this.calls.push(`create refused ${key(api)}`);
      return undefined;
    }
    return this.answer(`create ${key(api)}`, this.store(api, spec));
  }

  async patchSpec(api: CandidateApi, spec: Record<string, unknown>) {
    const existing = this.objects.get(key(api));
    return this.answer(
      `patch ${key(api)}`,
      existing === undefined ? undefined : this.store(api, { ...existing.spec, ...spec }),
    );
  }

  async remove(api: CandidateApi) {
    const existed = this.objects.delete(key(api));
    for (const w of this.watchers) if (w.api === key(api)) setImmediate(() => w.onEvent({ type: 'deleted' }));
    return this.answer(`remove ${key(api)}`, existed);
  }

  /** Delivers an event for an older version of the object, as a watch that lags behind a write's answer does. */
  replay(api: CandidateApi, object: RawCandidate): void {
    for (const w of this.watchers)
      if (w.api === key(api)) setImmediate(() => w.onEvent({ type: 'object', object }));
  }

  /** The coordinator's ping: a merge patch of pingTime. */
  ping(api: CandidateApi, at: number): void {
    const existing = this.objects.get(key(api));
    if (existing === undefined) throw new Error('nothing to ping');
    this.store(api, { ...existing.spec, pingTime: formatMicroTime(at) });
  }

  /** Resolves after the next write or event, for awaiting a condition without sleeping. */
  next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** A turn later: every watch event already emitted has been delivered. */
  static delivered(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  async until(check: () => boolean, rounds = 100): Promise<void> {
    for (let round = 0; round < rounds && !check(); round++) await this.next();
    if (!check()) throw new Error(`not reached; writes: ${this.log.join(', ')}`);
  }
}

/** A namespace that is not there: lists and watches answer (empty), every create 404s. */
class NoNamespaceCluster extends FakeCluster {
  override async create(): Promise<RawCandidate> {
    throw new ApiStatusError(
      404,
      JSON.stringify({
        kind: 'Status',
        status: 'Failure',
        message: 'namespaces "nosuchns" not found',
        reason: 'NotFound',
        details: { name: 'nosuchns', kind: 'namespaces' },
        code: 404,
      }),
      'POST /apis/coordination.lease-coordinator.dev/v1/namespaces/nosuchns/leasecandidates',
    );
  }

  override createIfAbsent(): Promise<RawCandidate | undefined> {
    return this.create();
  }
}

/** The agent's error lines, and a way to await the next one. */
class ErrorLog {
  readonly lines: { message: string; retryInMs: unknown }[] = [];
  private waiters: (() => void)[] = [];
  readonly logger = {
    info: () => {},
    warn: () => {},
    error: (message: string, fields?: { retryInMs?: unknown }) => {
      this.lines.push({ message, retryInMs: fields?.retryInMs });
      for (const w of this.waiters.splice(0)) w();
    },
  } as unknown as AgentDeps['logger'];

  async until(count: number): Promise<void> {
    while (this.lines.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}

function start(
  cluster: FakeCluster,
  clock: { now: number },
  health: HealthProbe = alwaysHealthy,
  logger: AgentDeps['logger'] = new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
) {
  const deps: AgentDeps = {
    port: cluster,
    health,
    clock: () => clock.now,
    logger,
    candidate: {
      namespace: 'default',
      identity: 'elector-0',
      leaseName: 'demo',
      binaryVersion: '1.31.0',
      emulationVersion: '1.30.0',
      strategy: 'OldestEmulationVersion',
    },
    renewPeriodMs: 300_000,
    api: 'auto',
  };
  const stop = new AbortController();
  const done = runAgent(deps, stop.signal);
  return { stop: () => stop.abort(), done };
}

const renewTime = (o: RawCandidate | undefined) =>
  Date.parse(String((o as { spec?: { renewTime?: string } } | undefined)?.spec?.renewTime));

describe('agent loop (unit: a fake cluster)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps going when a restarting apiserver lists neither API for a moment, and answers the ping that waited', async () => {
    // Only the restart back-off runs on fake timers; the fake cluster's events stay on setImmediate.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const cluster = new FakeCluster();
    const clock = { now: T0 };
    const agent = start(cluster, clock);
    let failed: unknown;
    agent.done.catch((error: unknown) => {
      failed = error;
    });
    await cluster.until(() => cluster.objects.has(key(CRD_API)) && cluster.watching);
    // The apiserver goes away and comes back: the watch ends, and the first discovery after it
    // lists only what a starting kube-apiserver lists (measured: 1 group, then all 22).
    cluster.served_ = new Map([['apiregistration.k8s.io', ['v1']]]);
    const before = cluster.discoveries;
    cluster.endWatches();
    await cluster.until(() => cluster.discoveries > before);
    for (let turn = 0; turn < 5; turn++) await FakeCluster.delivered();
    expect(failed).toBeUndefined();
    // Back to normal; the coordinator pings meanwhile. The agent starts again and answers it.
    cluster.served_ = new Map([[CRD_API.group, ['v1']]]);
    clock.now = T0 + 10;
    cluster.ping(CRD_API, T0 + 5);
    await vi.advanceTimersByTimeAsync(1_000);
    await cluster.until(() => renewTime(cluster.objects.get(key(CRD_API))) >= T0 + 10);
    expect(failed).toBeUndefined();
    agent.stop();
    await agent.done;
    expect(cluster.objects.size).toBe(0);
  });

  it('still stops at once when the cluster serves neither API when it starts', async () => {
    const cluster = new FakeCluster();
    cluster.served_ = new Map([['apiregistration.k8s.io', ['v1']]]);
    const agent = start(cluster, { now: T0 });
    await expect(agent.done).rejects.toThrow(/serves no LeaseCandidate API/);
    expect(cluster.log).toEqual([]);
  });

  it('answers a ping that lands while its renewal is in flight, instead of losing it to the older answer', async () => {
    const cluster = new FakeCluster();
    const clock = { now: T0 };
    const agent = start(cluster, clock);
    await cluster.until(() => cluster.objects.has(key(CRD_API)));
    clock.now = T0 + 10;
    // The renewal for the first ping is applied, then a second ping lands and its event reaches the
    // agent before the renewal's own answer does.
    cluster.hold = async () => {
      await FakeCluster.delivered();
      cluster.ping(CRD_API, T0 + 15);
      await FakeCluster.delivered();
      clock.now = T0 + 20;
    };
    cluster.ping(CRD_API, T0 + 5);
    await cluster.until(() => renewTime(cluster.objects.get(key(CRD_API))) >= T0 + 20);
    expect(cluster.log).toEqual([`create ${key(CRD_API)}`, `patch ${key(CRD_API)}`, `patch ${key(CRD_API)}`]);
    agent.stop();
    await agent.done;
  });

  it('takes no older event over the answer of its own write (no extra renewal)', async () => {
    const cluster = new FakeCluster();
    const clock = { now: T0 };
    const agent = start(cluster, clock);
    await cluster.until(() => cluster.objects.has(key(CRD_API)));
    clock.now = T0 + 10;
    cluster.ping(CRD_API, T0 + 5);
    const pinged = structuredClone(cluster.objects.get(key(CRD_API)));
    await cluster.until(() => cluster.log.length === 2);
    // The ping's event again, after the renewal that answered it: old news.
    cluster.replay(CRD_API, pinged as RawCandidate);
    for (let turn = 0; turn < 5; turn++) await FakeCluster.delivered();
    clock.now = T0 + 30;
    cluster.ping(CRD_API, T0 + 20);
    await cluster.until(() => renewTime(cluster.objects.get(key(CRD_API))) >= T0 + 30);
    expect(cluster.log).toEqual([`create ${key(CRD_API)}`, `patch ${key(CRD_API)}`, `patch ${key(CRD_API)}`]);
    agent.stop();
    await agent.done;
  });

  it('on a signal during a write, finishes the write and then deletes the object', async () => {
    const cluster = new FakeCluster();
    const agent = start(cluster, { now: T0 });
    cluster.hold = async () => agent.stop();
    await agent.done;
    expect(cluster.log).toEqual([`create ${key(CRD_API)}`, `remove ${key(CRD_API)}`]);
    expect(cluster.objects.size).toBe(0);
  });

  it('asks a program that is still starting again soon: registered within a fifth of a second of its first health', async () => {
    // setTimeout only: the fake cluster delivers its events on setImmediate.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const cluster = new FakeCluster();
      let up = false;
      let asked = 0;
      const health: HealthProbe = async () => {
        asked++;
        return up ? { healthy: true } : { healthy: false, problem: 'connect ECONNREFUSED' };
      };
      const agent = start(cluster, { now: T0 }, health);
      // The sidecar starts first: the program does not answer yet.
      while (asked === 0) await FakeCluster.delivered();
      expect(cluster.objects.size).toBe(0);
      up = true;
      await vi.advanceTimersByTimeAsync(STARTING_HEALTH_RETRY_MS);
      await cluster.until(() => cluster.objects.has(key(CRD_API)));
      agent.stop();
      await agent.done;
    } finally {
      vi.useRealTimers();
    }
  });

  it('asks whether the program is well while it finds its LeaseCandidate, not after: one question before the first write', async () => {
    const cluster = new FakeCluster();
    let asked = 0;
    let healthAsked: () => void = () => {};
    const firstQuestion = new Promise<void>((resolve) => {
      healthAsked = resolve;
    });
    const health: HealthProbe = async () => {
      asked++;
      healthAsked();
      return { healthy: true };
    };
    // Discovery answers only once the program has been asked: the two go side by side.
    const served = cluster.served.bind(cluster);
    cluster.served = async () => {
      await firstQuestion;
      return served();
    };
    const agent = start(cluster, { now: T0 }, health);
    await cluster.until(() => cluster.objects.has(key(CRD_API)));
    expect(asked).toBe(1);
    agent.stop();
    await agent.done;
  });

  it('registers before it lists and watches its LeaseCandidate: the create is its first call after discovery', async () => {
    const cluster = new FakeCluster();
    const agent = start(cluster, { now: T0 });
    await cluster.until(() => cluster.objects.has(key(CRD_API)) && cluster.watching);
    expect(cluster.calls).toEqual([
      `create ${key(CRD_API)}`,
      `read ${key(CRD_API)}`,
      `watch ${key(CRD_API)}`,
    ]);
    expect(renewTime(cluster.objects.get(key(CRD_API)))).toBe(T0);
    agent.stop();
    await agent.done;
    expect(cluster.objects.size).toBe(0);
  });

  it('leaves a LeaseCandidate already there at start (a restart) to its session, which corrects its spec', async () => {
    const cluster = new FakeCluster();
    // As an earlier run of the agent left it, named as the agent names it.
    const metadata = { name: 'elector-0', namespace: 'default', resourceVersion: '0' };
    cluster.objects.set(key(CRD_API), {
      metadata,
      spec: {
        leaseName: 'demo',
        binaryVersion: '1.31.0',
        emulationVersion: '1.29.0',
        strategy: 'OldestEmulationVersion',
        renewTime: formatMicroTime(T0 - 1_000),
      },
    });
    const agent = start(cluster, { now: T0 });
    await cluster.until(() => cluster.log.length === 1);
    expect(cluster.calls).toEqual([
      `create refused ${key(CRD_API)}`,
      `read ${key(CRD_API)}`,
      `watch ${key(CRD_API)}`,
      `patch ${key(CRD_API)}`,
    ]);
    expect(cluster.objects.get(key(CRD_API))?.spec.emulationVersion).toBe('1.30.0');
    agent.stop();
    await agent.done;
  });

  it('moves its candidate to the built-in API once the cluster serves it', async () => {
    const cluster = new FakeCluster();
    const agent = start(cluster, { now: T0 });
    await cluster.until(() => cluster.objects.has(key(CRD_API)) && cluster.watching);
    cluster.served_ = new Map([
      [BUILTIN_GROUP, ['v1', 'v1beta1']],
      [CRD_API.group, ['v1']],
    ]);
    cluster.endWatches();
    await cluster.until(() => cluster.objects.has(key(BUILTIN)));
    expect([...cluster.objects.keys()]).toEqual([key(BUILTIN)]);
    agent.stop();
    await agent.done;
    expect(cluster.log.at(-1)).toBe(`remove ${key(BUILTIN)}`);
    expect(cluster.objects.size).toBe(0);
  });

  it('names a namespace that does not exist, and backs off: it lists and watches, but every create is refused', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const cluster = new NoNamespaceCluster();
    const errors = new ErrorLog();
    const agent = start(cluster, { now: T0 }, alwaysHealthy, errors.logger);
    for (const [i, delay] of [1_000, 2_000, 4_000].entries()) {
      await errors.until(i + 1);
      await vi.advanceTimersByTimeAsync(delay);
    }
    await errors.until(4);
    expect(errors.lines.map((l) => l.retryInMs)).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(errors.lines[0]?.message).toBe(
      'namespace default does not exist in this cluster (--namespace): starting again',
    );
    agent.stop();
    await agent.done;
  });
});
