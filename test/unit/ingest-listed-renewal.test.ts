import { describe, expect, it } from 'vitest';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { HolderHints } from '../../lib/sync/holder-hints.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { singleCluster } from '../helpers/single-cluster.js';

/**
 * Each ingest run starts with a list. A renewal the run before kept unrecorded (within its bound,
 * docs/design.md, "Renewals kept by ingest") is news to the new run, which may list it seconds
 * after it happened, from a holder that has died since. It is recorded at the renewal's time on our
 * clock, not at the list's: found by the packaged failover figure, whose trials right after an
 * ingest run's start took the coordinator up to 5 s (a lease duration) more.
 */
describe('a renewal a new ingest run lists (unit: in-memory fakes)', () => {
  it('is recorded when it happened on our clock, not when the list showed it', async () => {
    const { deps, key, cluster, store, heartbeat, advance, clock } = singleCluster();
    await heartbeat('a', '1.30.0');
    await reconcileLease(deps, key);
    await mirrorLease(deps, key);
    // The first run sees three renewals: it records two (the first teaches its memory of the holder)
    // and keeps the third within its bound.
    const firstRun = new HolderHints();
    for (const expected of ['renewal', 'renewal', 'kept'] as const) {
      advance(1_000);
      expect(cluster.renewLease(key, 'a', 5)).toMatchObject({ ok: true });
      const outcome = await ingestLease(deps, 'c', cluster.get('Lease', key) ?? {}, {
        hints: firstRun,
        renewalBoundMs: () => 4_000,
      });
      expect(outcome.outcome).toBe(expected);
    }
    const lastRenewal = clock();

    // The holder dies; the next run's list shows its last renewal 3 s later.
    advance(3_000);
    const outcome = await ingestLease(deps, 'c', cluster.get('Lease', key) ?? {}, {
      hints: new HolderHints(),
      listed: true,
    });

    expect(outcome.outcome).toBe('renewal');
    expect((await store.loadLease(key)).lease?.record.renewTime).toBe(lastRenewal);
  });

  it('is recorded at now when a watch event brings it: it arrives as it is made, and anchors the record to our clock', async () => {
    const { deps, key, cluster, store, heartbeat, advance, clock } = singleCluster();
    await heartbeat('a', '1.30.0');
    await reconcileLease(deps, key);
    await mirrorLease(deps, key);
    const hints = new HolderHints();
    for (let i = 0; i < 2; i++) {
      advance(1_000);
      expect(cluster.renewLease(key, 'a', 5)).toMatchObject({ ok: true });
      await ingestLease(deps, 'c', cluster.get('Lease', key) ?? {}, { hints, renewalBoundMs: () => 0 });
    }
    // The holder's clock has run 10 ms slow against ours since its last renewal: mapped from that
    // renewal, the record would be 10 ms early, and such errors would add up over a long holding.
    advance(1_000);
    expect(cluster.renewLease(key, 'a', 5)).toMatchObject({ ok: true });
    const lease = structuredClone(cluster.get('Lease', key) ?? {}) as { spec: { renewTime: string } };
    lease.spec.renewTime = new Date(Date.parse(lease.spec.renewTime) - 10).toISOString();
    // A run with no memory of the holder yet reads the record first, as a list's does.
    await ingestLease(deps, 'c', lease, { hints: new HolderHints(), renewalBoundMs: () => 0 });

    expect((await store.loadLease(key)).lease?.record.renewTime).toBe(clock());
  });

  it('is recorded at the list’s time when no renewal of the holder is on record to count from', async () => {
    const { deps, key, cluster, store, heartbeat, advance, clock } = singleCluster();
    await heartbeat('a', '1.30.0');
    await reconcileLease(deps, key);
    await mirrorLease(deps, key);
    advance(1_000);
    expect(cluster.renewLease(key, 'a', 5)).toMatchObject({ ok: true });

    // The first renewal since the decision: its stamp is the holder's clock, with nothing of ours to map it by.
    advance(3_000);
    await ingestLease(deps, 'c', cluster.get('Lease', key) ?? {}, { hints: new HolderHints(), listed: true });

    expect((await store.loadLease(key)).lease?.record.renewTime).toBe(clock());
  });
});
