import { Logger } from '@aws-lambda-powertools/logger';
import type { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { handleTimerBatch } from '../../lib/handlers/timer.js';
import type { ClusterSource } from '../../lib/ports/cluster.js';
import type { CoordinatorDeps } from '../../lib/ports/coordinator.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import { SqsTimerQueue } from '../../lib/runtime/sqs-timer-queue.js';
import { holderLeaseReader } from '../../lib/sync/holder-lease-reader.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { candidateRenews } from '../helpers/candidate-renews.js';
import { InMemoryCluster } from '../helpers/in-memory-cluster.js';
import { InMemoryTable } from '../helpers/in-memory-store.js';
import { sqsBatch } from '../helpers/sqs-batch.js';

/** How long after its delay a message reaches `requeue` (Lambda's poller): a hop's rest is then rounded down. */
const POLL_LATENCY_MS = 250;

/** A message SendMessage accepted: when it becomes visible, and what it carries. */
interface SentMessage {
  readonly sentAt: number;
  readonly delaySeconds: number;
  readonly body: string;
}

/**
 * The SQS queue as far as the timers see it: SendMessage with whole-second DelaySeconds, which
 * SQS refuses above 900, and the messages held until then. The real SqsTimerQueue encodes them.
 */
function fakeSqs() {
  const inFlight: SentMessage[] = [];
  const sent: SentMessage[] = [];
  const client = {
    send: async (command: SendMessageCommand) => {
      const delaySeconds = command.input.DelaySeconds ?? 0;
      if (!Number.isInteger(delaySeconds) || delaySeconds < 0 || delaySeconds > 900)
        throw new Error(`InvalidParameterValue: DelaySeconds ${delaySeconds}`);
      const message = { sentAt: Date.now(), delaySeconds, body: command.input.MessageBody ?? '' };
      inFlight.push(message);
      sent.push(message);
      return {};
    },
  } as unknown as SQSClient;
  /** Takes the message that reaches requeue first, and the time it does. */
  const next = () => {
    inFlight.sort((a, b) => arrival(a) - arrival(b));
    const message = inFlight.shift();
    return message === undefined ? undefined : { message, at: arrival(message) };
  };
  return { client, sent, next, inFlight };
}

const arrival = (m: SentMessage) => m.sentAt + m.delaySeconds * 1000 + POLL_LATENCY_MS;

function sqsEvent(message: SentMessage, id: number): SQSEvent {
  return sqsBatch([message.body], id);
}

/** The holder's Lease duration: its takeover hold-off is as long, over SQS's 15-minute bound. */
const LONG_LEASE_SECONDS = 1_200;

/**
 * A lease held by "a" on a 20-minute Lease, whose cluster was out when "a" stopped renewing and
 * has just answered again: the takeover is held off for one lease duration from that answer
 * (confirm-takeover.ts), a deadline 20 minutes out, and that is the lease's timer. "b" waits to
 * take over.
 */
async function heldOffFor20Minutes() {
  const table = new InMemoryTable(Date.now);
  const requests: string[] = [];
  const store = table.store(async (request) => {
    requests.push(request);
  });
  const cluster = new InMemoryCluster('east', 0, Date.now);
  let reachable = true;
  const source: ClusterSource = {
    get: async () =>
      cluster.port(async () => {
        if (!reachable) throw new Error('connect ECONNREFUSED');
      }),
  };
  const sqs = fakeSqs();
  const key: LeaseKey = { scope: 'east', namespace: 'kube-system', name: 'long' };
  const deps: CoordinatorDeps = {
    store,
    clock: Date.now,
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    leases: () => key,
    timers: new SqsTimerQueue(sqs.client, 'https://sqs.local/timers'),
    readHolderLease: holderLeaseReader(source),
  };
  const ingestDeps = { ...deps, clusters: source };
  const heartbeat = (name: string, emulationVersion: string) =>
    candidateRenews(ingestDeps, cluster, key, name, emulationVersion);

  await heartbeat('a', '1.30.0');
  await reconcileLease(deps, key);
  await mirrorLease({ store, clusters: source, logger: deps.logger }, key);
  vi.advanceTimersByTime(1_000);
  cluster.renewLease(key, 'a', LONG_LEASE_SECONDS);
  await ingestLease(ingestDeps, 'east', cluster.get('Lease', key) ?? {});
  // "a" stops renewing; its Lease runs out while its cluster is out.
  vi.advanceTimersByTime(LONG_LEASE_SECONDS * 1000 + 1_000);
  await heartbeat('b', '1.31.0');
  reachable = false;
  await reconcileLease(deps, key);
  expect((await store.loadLease(key)).lease?.holderClusterOut).toBe(true);
  // The cluster answers again at the next look: "a" has one lease duration to renew there.
  vi.advanceTimersByTime(2_345);
  reachable = true;
  sqs.inFlight.length = 0;
  await reconcileLease(deps, key);
  const { lease, timerDueAt } = await store.loadLease(key);
  const notBefore = lease?.takeoverNotBefore as number;
  expect(notBefore - Date.now()).toBe(LONG_LEASE_SECONDS * 1000);
  // The step armed the first of the candidates' deadlines, before the hold-off ends: no step arms
  // a timer past SQS's bound today (a live successor's 15-minute refresh always comes first). The
  // hops are for one that would: the hold-off's end, armed here in its place.
  expect(timerDueAt).toBeLessThan(notBefore);
  await store.disarmTimer(key, timerDueAt as number, undefined, Date.now());
  await store.armTimer(key, notBefore, Date.now());
  sqs.inFlight.length = 0;
  await deps.timers.deliverAt(key, notBefore, Date.now());
  return { deps, store, sqs, key, notBefore, requests, heartbeat };
}

describe('a deadline past SQS’s 15-minute delay, reached in hops (unit: in-memory table, fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 3, 12, 0, 0, 17) });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Delivers the next message to requeue when it arrives; resolves with when it answered. */
  async function deliverNext(
    fixture: Awaited<ReturnType<typeof heldOffFor20Minutes>>,
    id: number,
    meanwhile?: () => Promise<unknown>,
  ) {
    const next = fixture.sqs.next();
    if (next === undefined) return undefined;
    vi.setSystemTime(next.at);
    await meanwhile?.();
    let answeredAt: number | undefined;
    const response = handleTimerBatch(fixture.deps, sqsEvent(next.message, id), undefined, () => 20_000).then(
      (r) => {
        answeredAt = Date.now();
        return r;
      },
    );
    while (answeredAt === undefined) await vi.advanceTimersByTimeAsync(50);
    expect((await response).batchItemFailures).toEqual([]);
    return { ...next, answeredAt };
  }

  it('each hop sends the next, the TIMER record names the deadline throughout, and the last delivery takes the step at it', async () => {
    const fixture = await heldOffFor20Minutes();
    const { store, sqs, key, notBefore, requests } = fixture;
    expect(sqs.inFlight.map((m) => m.delaySeconds)).toEqual([900]);
    expect((await store.loadLease(key)).timerDueAt).toBe(notBefore);

    // The first hop arrives 15 minutes in, 5 before the deadline, when "b" has just renewed (it
    // answered a ping, say): the look it takes finds nothing to do but wait. It must still send
    // the timer the rest of the way; on main it sent nothing, and the sweep took the deadline.
    const hop = await deliverNext(fixture, 1, () => fixture.heartbeat('b', '1.31.0'));
    expect(hop?.at).toBeLessThan(notBefore - 60_000);
    expect(sqs.inFlight.map((m) => JSON.parse(m.body).dueAt)).toEqual([notBefore]);
    expect(sqs.inFlight.map((m) => m.delaySeconds)).toEqual([Math.floor((notBefore - Date.now()) / 1000)]);
    // The record still names the deadline: the one timer pending is this one, on its way.
    expect((await store.loadLease(key)).timerDueAt).toBe(notBefore);

    // The last leg arrives under a second early (its delay rounded down), and waits for the deadline.
    requests.length = 0;
    const last = await deliverNext(fixture, 2);
    expect(last?.at).toBeGreaterThan(notBefore - 1_000);
    expect(last?.at).toBeLessThan(notBefore);
    // Taken at the deadline: the hold-off is over, "b" must prove it is alive, and the next
    // deadline (the ping window's end) is armed and sent.
    expect(requests).toContain('pingCandidates');
    const after = await store.loadLease(key);
    expect(after.candidates.find((c) => c.name === 'b')?.pingTime).toBeGreaterThanOrEqual(notBefore);
    expect(after.timerDueAt).toBeGreaterThan(notBefore);
    expect(sqs.inFlight.map((m) => JSON.parse(m.body).dueAt)).toEqual([after.timerDueAt]);
  });

  it('a hop whose look arms an earlier timer is replaced by it, not sent on: one timer in flight, the one the record names', async () => {
    const fixture = await heldOffFor20Minutes();
    const { store, sqs, key, notBefore } = fixture;
    // "b" last renewed before the hold-off began: the look the hop takes pings it, and the
    // ping window's end is the lease's deadline now.
    await deliverNext(fixture, 1);
    const { timerDueAt } = await store.loadLease(key);
    expect(timerDueAt).toBeLessThan(notBefore);
    expect(sqs.inFlight.map((m) => JSON.parse(m.body).dueAt)).toEqual([timerDueAt]);
  });
});
