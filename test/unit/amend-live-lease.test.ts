import { describe, expect, it } from 'vitest';
import { reconcileLeaseWithOutcome } from '../../lib/coordinator/reconcile-lease.js';
import type { CoordinatorDeps } from '../../lib/ports/coordinator.js';
import type { CoordinatorStore } from '../../lib/ports/store.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { singleCluster } from '../helpers/single-cluster.js';

/**
 * A leader renewing every 500 ms bumps the lease version faster than a busy preemption's
 * compare-and-set can land (docs/reliability.md, "Findings behind the code"). Asking a live holder
 * to yield amends only preferredHolder and strategy, under the condition that the holding is as
 * read; a renewal does not conflict with it, while a takeover still conflicts.
 */
describe('a preemption amends the live lease (unit: in-memory fakes)', () => {
  /**
   * Holder "a" (1.31) leads; "b" (1.30) has joined. `during` runs once, just before the first
   * request named `request` goes to the table: a write landing between the decision's read and its write.
   */
  async function setUp(
    request: keyof CoordinatorStore,
    during: (store: CoordinatorStore) => Promise<unknown>,
  ) {
    const fixture = singleCluster();
    const { deps: base, key, table, heartbeat, advance } = fixture;
    await heartbeat('a', '1.31.0');
    await reconcileLeaseWithOutcome(base, key);
    await mirrorLease(base, key);
    advance(1_000);
    let pending = true;
    const racing = table.store(async (name) => {
      if (name !== request || !pending) return;
      pending = false;
      await during(base.store);
    });
    const deps: CoordinatorDeps = { ...base, store: racing };
    return { ...fixture, deps, raced: () => !pending };
  }

  it('a renewal landing between the read and the write does not make it lose (a version compare-and-set would)', async () => {
    const { deps, key, store, heartbeat, raced, advance } = await setUp('amendLiveLease', (s) => {
      advance(200);
      return s.recordRenewal(
        key,
        { holderIdentity: 'a', expectedHolder: 'a', leaseDurationSeconds: 5 },
        deps.clock(),
      );
    });
    await heartbeat('b', '1.30.0');
    const before = (await store.loadLease(key)).lease;

    const { step, contended } = await reconcileLeaseWithOutcome(deps, key);

    expect(raced()).toBe(true);
    expect(step.action).toBe('preempt');
    expect(contended).toBe(false);
    const after = (await store.loadLease(key)).lease;
    expect(after?.record.preferredHolder).toBe('b');
    expect(after?.record.holderIdentity).toBe('a');
    // The renewal stands: the amendment did not move renewTime back to what the decision read.
    expect(after?.record.renewTime).toBe(deps.clock());
    expect(after?.record.renewTime).toBeGreaterThan(before?.record.renewTime ?? Number.POSITIVE_INFINITY);
    expect(after?.version).toBe((before?.version ?? 0) + 2);
  });

  it('a release landing meanwhile does conflict: the step is decided again, as a takeover', async () => {
    const { deps, key, store, heartbeat, raced } = await setUp('amendLiveLease', (s) =>
      s.recordRenewal(
        key,
        { holderIdentity: '', expectedHolder: 'a', leaseDurationSeconds: 5 },
        deps.clock(),
      ),
    );
    await heartbeat('b', '1.30.0');

    const { step, contended } = await reconcileLeaseWithOutcome(deps, key);

    expect(raced()).toBe(true);
    expect(contended).toBe(true);
    expect(step.action).toBe('takeover');
    const after = (await store.loadLease(key)).lease;
    expect(after?.record.holderIdentity).toBe('b');
    expect(after?.record.preferredHolder).toBeUndefined();
  });

  it('another decision naming a preferred holder meanwhile conflicts, and the lease keeps that one', async () => {
    const { deps, key, store, heartbeat, raced } = await setUp('amendLiveLease', async (s) => {
      const read = (await s.loadLease(key)).lease;
      if (read === undefined) throw new Error('no lease');
      return s.amendLiveLease(key, read, { ...read.record, preferredHolder: 'c' }, deps.clock());
    });
    await heartbeat('b', '1.30.0');

    const { contended } = await reconcileLeaseWithOutcome(deps, key);

    expect(raced()).toBe(true);
    expect(contended).toBe(true);
    // Decided again from what is stored: "b" is still the better one, so it is preferred now.
    expect((await store.loadLease(key)).lease?.record.preferredHolder).toBe('b');
  });

  it('a takeover still loses to a renewal that landed between its read and its write', async () => {
    const { deps, key, store, heartbeat, raced, advance } = await setUp('writeLease', (s) =>
      s.recordRenewal(
        key,
        { holderIdentity: 'a', expectedHolder: 'a', leaseDurationSeconds: 5 },
        deps.clock(),
      ),
    );
    await heartbeat('b', '1.31.0');
    // "a" has not renewed for longer than its lease: a takeover is decided, then "a" renews.
    advance(6_000);
    await heartbeat('b', '1.31.0');

    const { contended } = await reconcileLeaseWithOutcome({ ...deps, readHolderLease: undefined }, key);

    expect(raced()).toBe(true);
    expect(contended).toBe(true);
    expect((await store.loadLease(key)).lease?.record.holderIdentity).toBe('a');
  });
});
