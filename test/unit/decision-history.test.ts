import { describe, expect, it, vi } from 'vitest';
import { recordOnceWritten } from '../../lib/coordinator/decision-history.js';
import { reconcileLease, reconcileLeaseWithOutcome } from '../../lib/coordinator/reconcile-lease.js';
import type { ElectionStep } from '../../lib/election/types.js';
import { DEFAULT_HISTORY_RETENTION, type DecisionHistory } from '../../lib/ports/history.js';
import type { LeaseState } from '../../lib/ports/store.js';
import { HISTORY_HEAD_SK, historyPartitionKey } from '../../lib/store/history-keys.js';
import { InMemoryDecisionHistory } from '../helpers/in-memory-history.js';
import { schedulerCandidate } from '../helpers/scheduler-candidates.js';
import { singleCluster } from '../helpers/single-cluster.js';

/** One cluster, an in-memory history, and a step that records into it. */
function withHistory() {
  const fixture = singleCluster();
  const history = new InMemoryDecisionHistory(DEFAULT_HISTORY_RETENTION);
  const reconcile = () => reconcileLease({ ...fixture.deps, history }, fixture.key);
  return { ...fixture, history, reconcile };
}

describe('decision history (unit: in-memory table)', () => {
  it('records each decision with what the strategy compared', async () => {
    const { deps, key, heartbeat, advance, history, reconcile } = withHistory();
    await heartbeat('sched-a', '1.31.0');
    advance(1_000);
    await heartbeat('sched-b', '1.30.0');
    await heartbeat('sched-c', '1.31.0');
    const step = await reconcile();
    expect(step.action).toBe('create');
    const [record] = await history.recent(key);
    expect(record).toMatchObject({
      at: deps.clock(),
      action: 'create',
      term: 1,
      holder: 'sched-b',
      holderCluster: 'c',
      cause: 'new',
      message: 'Elected sched-b (term 1): lowest emulation version 1.30.0 of 3 candidates',
      rankedCount: 3,
      pinged: [],
      leftOut: [],
    });
    // sched-a and sched-c tie on versions: the older one (sched-a, created a second before) ranks first.
    expect(record?.ranked.map((c) => [c.rank, c.name, c.criterion, c.standing])).toEqual([
      [1, 'sched-b', 'emulationVersion', 'live'],
      [2, 'sched-a', 'emulationVersion', 'live'],
      [3, 'sched-c', 'age', 'live'],
    ]);
  });

  it('records a ping round, and nothing for a step that changes nothing', async () => {
    const { key, heartbeat, advance, history, reconcile } = withHistory();
    await heartbeat('sched-a', '1.31.0');
    await reconcile();
    advance(1_000);
    expect((await reconcile()).action).toBe('none');
    expect(await history.recent(key)).toHaveLength(1);
    // The holder goes silent: 2 s before its deadline, the others are pinged.
    await heartbeat('sched-b', '1.31.0');
    advance(10_000);
    const step = await reconcile();
    expect(step.action).toBe('ping');
    const [ping] = await history.recent(key);
    expect(ping).toMatchObject({ action: 'ping', term: 1, holder: 'sched-a', pinged: ['c/sched-b'] });
    expect(ping?.message).toMatch(/^Pinged sched-b: /);
  });

  it('records a ping round once when two triggers race to ping the same candidates', async () => {
    const { key, heartbeat, advance, history, reconcile } = withHistory();
    await heartbeat('sched-a', '1.31.0');
    await reconcile();
    await heartbeat('sched-b', '1.31.0');
    advance(10_000);
    // A stream record and a timer reach the lease together: both read sched-b unpinged, one ping lands.
    const steps = await Promise.all([reconcile(), reconcile()]);
    expect(steps.map((s) => s.action)).toEqual(['ping', 'ping']);
    const records = await history.recent(key);
    expect(records.map((r) => r.action)).toEqual(['ping', 'create']);
  });

  it('takes no record number for a decision whose write lost its compare-and-set', async () => {
    const { deps, key, heartbeat, history } = withHistory();
    await heartbeat('sched-a', '1.31.0');
    // A stream record and ingest reach a new lease together: both decide, one write lands.
    const reconcile = () => reconcileLeaseWithOutcome({ ...deps, history }, key);
    const outcomes = await Promise.all([reconcile(), reconcile()]);
    expect(outcomes.map((o) => o.contended).sort()).toEqual([false, true]);
    expect(outcomes.map((o) => o.step.action).sort()).toEqual(['create', 'none']);
    expect(history.item(historyPartitionKey(key), HISTORY_HEAD_SK)?.seq).toBe(1);
    expect((await history.recent(key)).map((r) => r.action)).toEqual(['create']);
  });

  it('records no keep-alive ping of the candidate a holder is asked to yield to: the preemption stays in the history', async () => {
    // Found by a newcomer's try, gate off: a revoke waits a lease duration, the successor is
    // pinged about every 2.5 s meanwhile, and ten records pushed the preemption's reason out.
    const { key, heartbeat, advance, history, reconcile } = withHistory();
    await heartbeat('sched-a', '1.31.0');
    await reconcile();
    await heartbeat('sched-b', '1.30.0');
    expect((await reconcile()).action).toBe('preempt');
    advance(2_500);
    const refresh = await reconcile();
    expect(refresh.action).toBe('ping');
    expect(refresh.ping.map((c) => c.name)).toEqual(['sched-b']);
    const records = await history.recent(key);
    expect(records.map((r) => r.action)).toEqual(['preempt', 'create']);
  });

  it('records a ping of the preferred candidate once the lease has run out: an election ping, not a keep-alive', async () => {
    // The review: the keep-alive rule matched any write-free ping of the preferred one alone, the
    // election's own after the holder's deadline too, which then left no record that it was asked.
    const { deps, key, history } = withHistory();
    const now = deps.clock();
    const preferred = schedulerCandidate('sched-b', now, { renewTime: now - 60_000 });
    const state: LeaseState = {
      lease: {
        version: 2,
        record: {
          holderIdentity: 'sched-a',
          leaseDurationSeconds: 5,
          renewTime: now - 6_000,
          strategy: 'OldestEmulationVersion',
          preferredHolder: 'sched-b',
          term: 1,
        },
      },
      candidates: [preferred],
    };
    const step: ElectionStep = {
      action: 'ping',
      ping: [preferred],
      write: null,
      requeueAfterMs: 5_001,
      error: null,
    };
    await recordOnceWritten(
      { ...deps, history },
      key,
      { state, step, now },
      { pinging: Promise.resolve([preferred]) },
    );
    expect((await history.recent(key)).map((r) => r.action)).toEqual(['ping']);
  });

  it('never fails or holds back a decision whose record cannot be stored', async () => {
    const { deps, key, heartbeat, store } = singleCluster();
    const failing: DecisionHistory = {
      reserve: async () => {
        throw new Error('throttled');
      },
      append: async () => {
        throw new Error('throttled');
      },
      recent: async () => [],
    };
    const warn = vi.spyOn(deps.logger, 'warn');
    await heartbeat('sched-a', '1.31.0');
    expect((await reconcileLease({ ...deps, history: failing }, key)).action).toBe('create');
    expect((await store.loadLease(key)).lease?.record.holderIdentity).toBe('sched-a');
    expect(warn.mock.calls.map(([message]) => message)).toEqual(['cannot reserve a decision history record']);
  });
});
