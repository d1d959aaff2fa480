import { readFileSync } from 'node:fs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConditionFailedError } from '../../lib/errors.js';
import { type FilterPattern, matchesAny } from '../../lib/local/event-filter.js';
import type { ScannedLease } from '../../lib/ports/store.js';
import { DynamoDbStore } from '../../lib/store/dynamodb-store.js';
import { candidate, startTestStack, type TestStack } from '../helpers/local-stack.js';

/** The deployed stream filters: which consumer a table change wakes. */
const STREAM_FILTERS = JSON.parse(
  readFileSync(new URL('../../infra/stream-filters.json', import.meta.url), 'utf8'),
) as { mirror: FilterPattern[] };
const LEASE = { scope: 'alpha', namespace: 'kube-system', name: 'kube-scheduler' };
const LEASE_PATH = '/clusters/alpha/namespaces/kube-system/leases/kube-scheduler';
const NEWER = { binary: '1.34.0', emulation: '1.34.0' };
const OLDER = { binary: '1.34.0', emulation: '1.33.0' };

async function request(stack: TestStack, method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return {
    status: response.status,
    json: (await response.json()) as {
      spec?: Record<string, unknown>;
      metadata?: { annotations?: Record<string, string> };
    },
  };
}

/** Moves the test clock to the next timer deadline and delivers it, as the SQS delay queue would. */
async function fireNextTimer(stack: TestStack) {
  const due = stack.timers.nextDueAt();
  expect(due).toBeDefined();
  stack.clock.now = Math.max(stack.clock.now, due as number);
  await stack.timers.fireDue(stack.clock.now);
  await stack.streams.drain();
}

describe('election flow over HTTP, stream and timers (integration: DynamoDB Local)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('elects, preempts through preferredHolder, and hands over on release with a new term', async () => {
    expect(
      (await stack.post('/clusters/alpha/leasecandidates', candidate('sched-a', NEWER, stack.clock.now)))
        .status,
    ).toBe(201);
    await stack.streams.drain();
    let lease = await request(stack, 'GET', LEASE_PATH);
    expect(lease.json.spec?.holderIdentity).toBe('sched-a');
    expect(lease.json.metadata?.annotations?.['lease-coordinator.dev/term']).toBe('1');

    stack.clock.advance(1000);
    const renewed = await request(stack, 'PUT', `${LEASE_PATH}/holder/sched-a`, { leaseDurationSeconds: 15 });
    expect(renewed.status).toBe(200);

    expect(
      (await stack.post('/clusters/alpha/leasecandidates', candidate('sched-b', OLDER, stack.clock.now)))
        .status,
    ).toBe(201);
    await stack.streams.drain();
    lease = await request(stack, 'GET', LEASE_PATH);
    // The live holder keeps the lease; the better candidate is only preferred.
    expect(lease.json.spec?.holderIdentity).toBe('sched-a');
    expect(lease.json.spec?.preferredHolder).toBe('sched-b');

    // Only the holder may renew or release.
    expect((await request(stack, 'DELETE', `${LEASE_PATH}/holder/sched-b`)).status).toBe(409);
    const released = await request(stack, 'DELETE', `${LEASE_PATH}/holder/sched-a`);
    expect(released.status).toBe(200);
    expect(released.json.spec?.holderIdentity).toBe('');
    // The same release sent again (a retry after a lost answer) is answered as the first was.
    const again = await request(stack, 'DELETE', `${LEASE_PATH}/holder/sched-a`);
    expect(again.status).toBe(200);
    expect(again.json.spec?.holderIdentity).toBe('');
    await stack.streams.drain();

    lease = await request(stack, 'GET', LEASE_PATH);
    expect(lease.json.spec?.holderIdentity).toBe('sched-b');
    expect(lease.json.spec?.preferredHolder).toBeUndefined();
    expect(lease.json.metadata?.annotations?.['lease-coordinator.dev/term']).toBe('2');
  });

  it('pings the others when the holder falls silent, and elects at its deadline', async () => {
    // sched-b holds with leaseDurationSeconds 5 and never renews. The coordinator's timers fire
    // at the deadlines it armed: 2 s before the lease runs out it pings the other candidates.
    let state = await stack.deps.store.loadLease(LEASE);
    const deadline = (state.lease?.record.renewTime as number) + 5000;
    for (let fired = 0; fired < 5 && state.candidates.every((c) => c.pingTime === undefined); fired++) {
      await fireNextTimer(stack);
      state = await stack.deps.store.loadLease(LEASE);
    }
    expect(stack.clock.now).toBe(deadline - 2000);
    const pinged = state.candidates.filter((c) => c.pingTime === stack.clock.now).map((c) => c.name);
    expect(pinged).toEqual(['sched-a']);

    // sched-a answers its ping with a heartbeat (the response shows the ping).
    stack.clock.advance(100);
    const ack = await stack.post(
      '/clusters/alpha/leasecandidates',
      candidate('sched-a', NEWER, stack.clock.now),
    );
    expect(ack.status).toBe(200);
    expect((ack.json.spec as Record<string, unknown>).pingTime).toBeDefined();
    await stack.streams.drain();
    // The lease is still live: nobody is elected yet.
    state = await stack.deps.store.loadLease(LEASE);
    expect(state.lease?.record.holderIdentity).toBe('sched-b');

    // At the deadline the answer is in: sched-a takes over at once, without waiting on sched-b.
    await fireNextTimer(stack);
    expect(stack.clock.now).toBe(deadline + 1);
    state = await stack.deps.store.loadLease(LEASE);
    expect(state.lease?.record.holderIdentity).toBe('sched-a');
    expect(state.lease?.record.term).toBe(3);
  });

  it('defers a takeover only on the version it read, wakes no consumer, and a decision or a renewal clears it', async () => {
    const key = { scope: 'alpha', namespace: 'kube-system', name: 'deferred' };
    const posted = await stack.post(
      '/clusters/alpha/leasecandidates',
      candidate('defer-a', NEWER, stack.clock.now, { leaseName: 'deferred' }),
    );
    expect(posted.status).toBe(201);
    await stack.streams.drain();
    const read = (await stack.deps.store.loadLease(key)).lease;
    if (read === undefined) throw new Error('no decision for the lease');
    const notBefore = stack.clock.now + 7_000;
    const out = { notBefore, holderClusterOut: true };

    const stale = { ...read, version: read.version - 1 };
    await expect(stack.deps.store.deferTakeover(key, stale, out, stack.clock.now)).rejects.toBeInstanceOf(
      ConditionFailedError,
    );
    expect((await stack.deps.store.loadLease(key)).lease).toEqual(read);

    const woken = stack.streams.invocations.batches;
    await stack.deps.store.deferTakeover(key, read, out, stack.clock.now);
    await stack.streams.drain();
    const deferred = (await stack.deps.store.loadLease(key)).lease;
    expect(deferred).toEqual({
      ...read,
      version: read.version + 1,
      takeoverNotBefore: notBefore,
      holderClusterOut: true,
    });
    expect(stack.streams.invocations.batches).toBe(woken);

    // The cluster answers: the flag goes, the holder has until the new time.
    const answered = { notBefore: notBefore + 1_000, holderClusterOut: false };
    await stack.deps.store.deferTakeover(key, deferred as typeof read, answered, stack.clock.now);
    const waiting = (await stack.deps.store.loadLease(key)).lease;
    expect(waiting).toEqual({ ...read, version: read.version + 2, takeoverNotBefore: notBefore + 1_000 });

    // The holder renews: nothing is held off any more.
    const holder = read.record.holderIdentity ?? '';
    const renewed = await stack.deps.store.recordRenewal(
      key,
      { holderIdentity: holder, expectedHolder: holder, leaseDurationSeconds: 5 },
      stack.clock.now,
    );
    expect(renewed.takeoverNotBefore).toBeUndefined();
    expect(renewed.holderClusterOut).toBeUndefined();
    await stack.deps.store.deferTakeover(key, renewed, out, stack.clock.now);
    const again = (await stack.deps.store.loadLease(key)).lease;

    await stack.deps.store.writeLease(
      key,
      { ...read.record, term: read.record.term + 1 },
      again?.version,
      stack.clock.now,
    );
    const decided = (await stack.deps.store.loadLease(key)).lease;
    expect(decided?.takeoverNotBefore).toBeUndefined();
    expect(decided?.holderClusterOut).toBeUndefined();
  });

  it('amends a live lease despite renewals since its read, not once its holding changed; a refused amendment changes nothing', async () => {
    const key = { scope: 'alpha', namespace: 'kube-system', name: 'amended' };
    const posted = await stack.post(
      '/clusters/alpha/leasecandidates',
      candidate('amend-a', NEWER, stack.clock.now, { leaseName: 'amended' }),
    );
    expect(posted.status).toBe(201);
    await stack.streams.drain();
    const read = (await stack.deps.store.loadLease(key)).lease;
    if (read === undefined) throw new Error('no decision for the lease');
    const holder = read.record.holderIdentity ?? '';
    stack.clock.advance(500);
    const renewal = { holderIdentity: holder, expectedHolder: holder, leaseDurationSeconds: 15 };
    await stack.deps.store.recordRenewal(key, renewal, stack.clock.now);

    const seen = stack.records.length;
    const amended = await stack.deps.store.amendLiveLease(
      key,
      read,
      { ...read.record, preferredHolder: 'amend-b' },
      stack.clock.now,
    );
    // The renewal stands (renewTime and duration are the renewal's), and the mirror is woken.
    expect(amended.record).toEqual({
      ...read.record,
      preferredHolder: 'amend-b',
      renewTime: stack.clock.now,
      leaseDurationSeconds: 15,
    });
    expect(amended.version).toBe(read.version + 2);
    expect((await stack.deps.store.loadLease(key)).lease).toEqual(amended);
    await stack.streams.drain();
    const amendment = stack.records
      .slice(seen)
      .find((r) => unmarshall(r.dynamodb?.NewImage as never).preferredHolder === 'amend-b');
    expect(unmarshall(amendment?.dynamodb?.NewImage as never).change).toBe('decision');
    expect(matchesAny(STREAM_FILTERS.mirror, amendment)).toBe(true);

    // Read before that amendment: its preferredHolder is no longer as read.
    await expect(
      stack.deps.store.amendLiveLease(
        key,
        read,
        { ...read.record, preferredHolder: 'amend-c' },
        stack.clock.now,
      ),
    ).rejects.toMatchObject({ condition: 'HOLDING_AS_READ' });
    // A new term (another holder) since the read.
    const { lease: current } = await stack.deps.store.loadLease(key);
    await stack.deps.store.writeLease(
      key,
      { ...read.record, holderIdentity: 'amend-b', term: read.record.term + 1 },
      current?.version,
      stack.clock.now,
    );
    const taken = (await stack.deps.store.loadLease(key)).lease;
    await expect(
      stack.deps.store.amendLiveLease(
        key,
        amended,
        { ...amended.record, preferredHolder: 'amend-c' },
        stack.clock.now,
      ),
    ).rejects.toMatchObject({ condition: 'HOLDING_AS_READ' });
    expect((await stack.deps.store.loadLease(key)).lease).toEqual(taken);
  });

  it('records a Lease under the term of ours it shows, never below it, and only on the version read', async () => {
    const key = { scope: 'alpha', namespace: 'kube-system', name: 'lost-table' };
    const store = stack.deps.store;
    const seen = (holderIdentity: string, renewTime: number, shownTerm: number) => ({
      cluster: 'alpha',
      holderIdentity,
      leaseDurationSeconds: 15,
      renewTime,
      shownTerm,
    });
    // No record (a table recreated): the holder keeps the term its Lease shows.
    await store.observeLease(key, seen('h', 1, 7), undefined, stack.clock.now);
    const adopted = (await store.loadLease(key)).lease;
    expect(adopted?.record).toMatchObject({ holderIdentity: 'h', holderCluster: 'alpha', term: 7 });

    // Its renewal under the same term is a renewal: the term stays.
    await store.observeLease(key, seen('h', 2, 7), adopted, stack.clock.now);
    const renewed = (await store.loadLease(key)).lease;
    expect(renewed?.record).toMatchObject({ holderIdentity: 'h', term: 7 });

    // A newer term shown (a decision the table lost): recorded, but only on the version read.
    const stale = { ...(renewed as NonNullable<typeof renewed>), version: (renewed?.version ?? 0) - 1 };
    await expect(store.observeLease(key, seen('other', 3, 9), stale, stack.clock.now)).rejects.toBeInstanceOf(
      ConditionFailedError,
    );
    expect((await store.loadLease(key)).lease).toEqual(renewed);
    await store.observeLease(key, seen('other', 3, 9), renewed, stack.clock.now);
    expect((await store.loadLease(key)).lease?.record).toMatchObject({ holderIdentity: 'other', term: 9 });

    // The holder lets go: who left, and when on our clock, is recorded with the release.
    const held = (await store.loadLease(key)).lease;
    await store.observeLease(key, seen('', 4, 9), held, stack.clock.now);
    expect((await store.loadLease(key)).lease?.record).toMatchObject({
      holderIdentity: '',
      releasedHolder: 'other',
      releasedAt: stack.clock.now,
      term: 9,
    });
  });

  it('scans each lease whole once, however the pages fall, as loadLease reads it', async () => {
    for (const name of ['sched-c', 'sched-d', 'sched-e'])
      await stack.post('/clusters/beta/leasecandidates', candidate(name, NEWER, stack.clock.now));
    await stack.streams.drain();
    const whole: ScannedLease[] = [];
    for await (const entry of stack.deps.store.scanLeases()) whole.push(entry);
    // Two items a page: every partition of more than two items spans pages.
    const paged = new DynamoDbStore(stack.dynamodb.client, stack.tableName, 2);
    const split: ScannedLease[] = [];
    for await (const entry of paged.scanLeases()) split.push(entry);
    expect(split).toEqual(whole);
    const names = whole.map((e) => `${e.key.scope}/${e.key.name}`);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBeGreaterThan(1);
    for (const { key, state } of whole) expect(state).toEqual(await stack.deps.store.loadLease(key));
    const beta = whole.find((e) => e.key.scope === 'beta');
    expect(beta?.state?.candidates.map((c) => c.name).sort()).toEqual(['sched-c', 'sched-d', 'sched-e']);
  });

  it('collects a candidate that has not renewed for 30 minutes, on the sweep', async () => {
    stack.clock.advance(31 * 60_000);
    const result = await stack.sweep();
    expect(result.failed).toBe(0);
    const state = await stack.deps.store.loadLease(LEASE);
    expect(state.candidates).toEqual([]);
  });
});
