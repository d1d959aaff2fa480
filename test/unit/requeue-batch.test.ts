import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { ClusterTimeoutError } from '../../lib/errors.js';
import { EARLY_BY_AT_MOST_MS, handleTimerBatch, RETURN_MARGIN_MS } from '../../lib/handlers/timer.js';
import { retryDelaySeconds } from '../../lib/handlers/timer-backoff.js';
import type { ClusterSource } from '../../lib/ports/cluster.js';
import type {
  CoordinatorDeps,
  HolderClusterUnreachable,
  MirrorDeps,
  RequeueDeps,
} from '../../lib/ports/coordinator.js';
import { type LeaseKey, ungroupedLeases } from '../../lib/ports/lease-key.js';
import type { Redelivery } from '../../lib/ports/schedule.js';
import { timerMessage } from '../../lib/runtime/sqs-timer-queue.js';
import { holderLeaseReader } from '../../lib/sync/holder-lease-reader.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { candidateRenews } from '../helpers/candidate-renews.js';
import { InMemoryCluster } from '../helpers/in-memory-cluster.js';
import { InMemoryTable } from '../helpers/in-memory-store.js';
import { sqsBatch } from '../helpers/sqs-batch.js';

/** An SQS batch of timer messages, one per lease and deadline, as requeue receives it. */
function timerBatch(timers: readonly { key: LeaseKey; dueAt: number }[]): SQSEvent {
  return sqsBatch(timers.map(({ key, dueAt }) => JSON.stringify(timerMessage(key, dueAt))));
}

/** The apiserver request timeout (lib/kube/request.ts): what a hung cluster costs each request. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Leases whose holders stopped renewing, in clusters that then hang (requests time out instead of
 * being refused), and requeue's batch for their deadlines. Fake timers: the clock, the hung
 * requests' timeouts and the handler's budget all move together, and only when the test moves them.
 */
async function setUp(policy: HolderClusterUnreachable = 'Wait') {
  const table = new InMemoryTable(Date.now);
  const store = table.store();
  const clusters = new Map<string, InMemoryCluster>();
  const hung = new Set<string>();
  const requests: string[] = [];
  const source: ClusterSource = {
    get: async (name) => {
      let cluster = clusters.get(name);
      if (cluster === undefined) {
        cluster = new InMemoryCluster(name, 0, Date.now);
        clusters.set(name, cluster);
      }
      return cluster.port(async (request) => {
        requests.push(request);
        if (!hung.has(name)) return;
        // An apiserver that accepted the request and never answers: the request times out.
        await new Promise((resolve) => setTimeout(resolve, REQUEST_TIMEOUT_MS));
        throw new ClusterTimeoutError(name, REQUEST_TIMEOUT_MS);
      });
    },
  };
  const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
  /** The back-offs requeue set on its failed messages. */
  const redeliveries: Redelivery[] = [];
  const deps: RequeueDeps = {
    store,
    clock: Date.now,
    logger,
    leases: ungroupedLeases,
    timers: { deliverAt: async () => {} },
    redelivery: {
      redeliverAfter: async (messages) => {
        redeliveries.push(...messages);
      },
    },
    readHolderLease: holderLeaseReader(source),
    holderClusterUnreachable: () => policy,
  };
  const mirror: MirrorDeps = { store, clusters: source, logger };
  const ingestDeps = { ...deps, clusters: source };

  /** A candidate renews in its cluster, and ingest stores it. */
  const renew = async (key: LeaseKey, name: string, emulationVersion: string) => {
    await source.get(key.scope);
    await candidateRenews(
      ingestDeps,
      clusters.get(key.scope) as InMemoryCluster,
      key,
      name,
      emulationVersion,
    );
  };
  /** `key` is held by "<name>-old", which then stops renewing; "<name>-new" stays alive. */
  const expiredHolder = async (key: LeaseKey) => {
    await renew(key, `${key.name}-old`, '1.30.0');
    await reconcileLease(deps, key);
    await mirrorLease(mirror, key);
  };
  const afterExpiry = async (keys: readonly LeaseKey[]) => {
    vi.advanceTimersByTime(6_000);
    for (const key of keys) await renew(key, `${key.name}-new`, '1.31.0');
  };
  const batch = (keys: readonly LeaseKey[]) => timerBatch(keys.map((key) => ({ key, dueAt: Date.now() })));
  /** Runs the batch with `budgetMs` of invocation left; resolves with its response and the fake time it took. */
  const runBatch = async (keys: readonly LeaseKey[], budgetMs: number) => {
    const started = Date.now();
    const deadline = started + budgetMs;
    let finished: number | undefined;
    const response = handleTimerBatch(deps, batch(keys), mirror, () => deadline - Date.now()).then((r) => {
      finished = Date.now();
      return r;
    });
    // Moves the fake clock until the batch has answered (each step lets pending promises run).
    while (finished === undefined) await vi.advanceTimersByTimeAsync(100);
    return { response: await response, tookMs: (finished as number) - started };
  };
  /** The holder renews its Lease in its cluster, and ingest records it. */
  const holderRenews = async (key: LeaseKey, holder: string) => {
    const cluster = clusters.get(key.scope) as InMemoryCluster;
    cluster.renewLease(key, holder, 5);
    await ingestLease(ingestDeps, key.scope, cluster.get('Lease', key) ?? {});
  };
  return {
    deps,
    mirror,
    store,
    hung,
    requests,
    redeliveries,
    expiredHolder,
    afterExpiry,
    runBatch,
    holderRenews,
  };
}

const lease = (scope: string, name: string): LeaseKey => ({ scope, namespace: 'kube-system', name });

describe('requeue during a cluster outage (unit: in-memory table, hung fake clusters, fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 3, 12) });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('decides the messages of a batch in parallel: two leases of a hung cluster finish within one request timeout', async () => {
    const { hung, redeliveries, expiredHolder, afterExpiry, runBatch, store } = await setUp('Wait');
    const keys = [lease('east', 'one'), lease('east', 'two')];
    for (const key of keys) await expiredHolder(key);
    await afterExpiry(keys);
    hung.add('east');
    const budgetMs = 20_000 - 100;
    const { response, tookMs } = await runBatch(keys, budgetMs);
    expect(response.batchItemFailures).toEqual([]);
    expect(redeliveries).toEqual([]);
    expect(tookMs).toBeLessThanOrEqual(budgetMs - RETURN_MARGIN_MS);
    // Under Wait, each takeover is held off while the holder's cluster does not answer.
    for (const key of keys) expect((await store.loadLease(key)).lease?.holderClusterOut).toBe(true);
  });

  it('asks a cluster that timed out once no more in the same batch (TakeOver: no second wait for the successor check or the mirror)', async () => {
    const { hung, requests, expiredHolder, afterExpiry, runBatch } = await setUp('TakeOver');
    const key = lease('east', 'one');
    await expiredHolder(key);
    await afterExpiry([key]);
    hung.add('east');
    requests.length = 0;
    const { response, tookMs } = await runBatch([key], 20_000);
    expect(response.batchItemFailures).toEqual([]);
    expect(requests.filter((r) => r.startsWith('east'))).toHaveLength(1);
    expect(tookMs).toBeLessThan(2 * REQUEST_TIMEOUT_MS);
  });

  it('reports the messages it cannot finish in its budget as batch item failures, before the invocation times out, to come back in a second', async () => {
    const { hung, redeliveries, expiredHolder, afterExpiry, runBatch } = await setUp('Wait');
    const stuck = lease('east', 'one');
    const healthy = lease('west', 'two');
    await expiredHolder(stuck);
    await expiredHolder(healthy);
    await afterExpiry([stuck, healthy]);
    hung.add('east');
    const budgetMs = 5_000;
    const { response, tookMs } = await runBatch([stuck, healthy], budgetMs);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }]);
    expect(tookMs).toBeLessThan(budgetMs);
    // Its first receive (sqsBatch gives no count): back in a second, not after the visibility timeout.
    expect(redeliveries).toEqual([{ receiptHandle: 'r0', afterSeconds: retryDelaySeconds(1) }]);
  });
});

describe('a timer message that arrives before its deadline (unit: in-memory table, fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 3, 12) });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const message = (key: LeaseKey, dueAt: number) => timerBatch([{ key, dueAt }]);

  it('waits out the rest of its rounded-down DelaySeconds, then takes the step and arms the next deadline', async () => {
    const { deps, mirror, store, expiredHolder } = await setUp();
    const key = lease('east', 'one');
    await expiredHolder(key);
    const dueAt = (await store.loadLease(key)).timerDueAt as number;
    // SQS delivers it up to a second early (DelaySeconds rounded down).
    vi.setSystemTime(dueAt - (EARLY_BY_AT_MOST_MS - 100));
    let answered = false;
    const response = handleTimerBatch(deps, message(key, dueAt), mirror, () => 20_000).then((r) => {
      answered = true;
      return r;
    });
    while (!answered) await vi.advanceTimersByTimeAsync(50);
    expect((await response).batchItemFailures).toEqual([]);
    // Taken early, the step would find nothing due and its own timer still pending, and arm none:
    // the deadline would be left to the minute sweep.
    expect((await store.loadLease(key)).timerDueAt).toBeGreaterThan(dueAt);
  });

  /** Runs one early message; resolves with the response and the (fake) time it answered at. */
  async function deliverEarly(fixture: Awaited<ReturnType<typeof setUp>>, key: LeaseKey, dueAt: number) {
    let answeredAt: number | undefined;
    const response = handleTimerBatch(fixture.deps, message(key, dueAt), fixture.mirror, () => 20_000).then(
      (r) => {
        answeredAt = Date.now();
        return r;
      },
    );
    while (answeredAt === undefined) await vi.advanceTimersByTimeAsync(50);
    return { response: await response, answeredAt };
  }

  it('does not wait for a deadline the holder has renewed past: it arms the next one at once', async () => {
    const fixture = await setUp();
    const { store, expiredHolder, holderRenews } = fixture;
    const key = lease('east', 'one');
    await expiredHolder(key);
    const dueAt = (await store.loadLease(key)).timerDueAt as number;
    vi.setSystemTime(dueAt - (EARLY_BY_AT_MOST_MS - 100));
    await holderRenews(key, 'one-old');
    const { response, answeredAt } = await deliverEarly(fixture, key, dueAt);
    expect(response.batchItemFailures).toEqual([]);
    // Answered before the deadline (no billed wait), with the renewed holder's next deadline armed.
    expect(answeredAt).toBeLessThan(dueAt);
    expect((await store.loadLease(key)).timerDueAt).toBeGreaterThan(dueAt);
  });
});

describe('requeue, message by message (unit: in-memory table)', () => {
  it('reports each message it cannot take, and answers a batch where every message failed instead of throwing', async () => {
    const table = new InMemoryTable(Date.now);
    const deps: CoordinatorDeps = {
      store: table.store(),
      clock: Date.now,
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
      leases: ungroupedLeases,
      timers: { deliverAt: async () => {} },
    };
    const message = (messageId: string, body: string) =>
      ({ messageId, body, eventSource: 'aws:sqs' }) as SQSEvent['Records'][number];
    const valid = JSON.stringify(timerMessage(lease('east', 'one'), Date.now()));
    const mixed = await handleTimerBatch(deps, {
      Records: [message('bad', '{"lease": {}}'), message('good', valid), message('worse', 'not json')],
    });
    expect(mixed.batchItemFailures).toEqual([{ itemIdentifier: 'bad' }, { itemIdentifier: 'worse' }]);
    const allBad = await handleTimerBatch(deps, { Records: [message('bad', '{}'), message('worse', '[')] });
    expect(allBad.batchItemFailures).toEqual([{ itemIdentifier: 'bad' }, { itemIdentifier: 'worse' }]);
  });

  it('refuses a malformed message naming the field, and neither reads nor writes anything for it', async () => {
    const table = new InMemoryTable(Date.now);
    const requests: string[] = [];
    const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
    const error = vi.spyOn(logger, 'error');
    const deps: CoordinatorDeps = {
      store: table.store(async (request) => {
        requests.push(request);
      }),
      clock: Date.now,
      logger,
      leases: ungroupedLeases,
      timers: { deliverAt: async () => {} },
    };
    const body = (lease: Record<string, unknown>) => JSON.stringify({ lease, dueAt: Date.now() });
    const cases = [
      { body: 'not json', field: 'body' },
      { body: body({ scope: 'east', namespace: 'Kube System', name: 'one' }), field: 'lease.namespace' },
      { body: body({ scope: 'east', namespace: 'kube-system', name: 'a/b' }), field: 'lease.name' },
      { body: body({ scope: 'east+', namespace: 'kube-system', name: 'one' }), field: 'lease.scope' },
      { body: JSON.stringify({ lease: { scope: 'east', namespace: 'kube-system' } }), field: 'lease.name' },
    ];
    const response = await handleTimerBatch(deps, sqsBatch(cases.map((c) => c.body)));
    expect(response.batchItemFailures).toEqual(cases.map((_, i) => ({ itemIdentifier: `m${i}` })));
    const reasons = error.mock.calls.map((call) => String((call[1] as { error: Error }).error));
    cases.forEach(({ field }, i) => {
      expect(reasons[i]).toMatch(/^ValidationError: /);
      expect(reasons[i]).toContain(`${field}: `);
    });
    expect(requests).toEqual([]);
    expect(table.partitions()).toEqual([]);
  });
});
