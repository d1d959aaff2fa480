import { describe, expect, it } from 'vitest';
import { REVOKED_HOLDER } from '../../lib/api/lease.js';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { holderLeaseFence } from '../../lib/sync/holder-lease-reader.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { heldByOld } from '../helpers/two-clusters.js';

/**
 * A preemption by revoke (gate off) waits one of the holder's lease durations from the revoke's
 * stamp. Right after an election the record carries our default (5 s) until ingest records the
 * holder's first renewal (client-go: 15 s), and the revoke writes over that renewal on the Lease:
 * the revoke, the takeover's wait and a revoke taken back all count the holder's own 15 s, or the
 * successor would be named 5 s after the holder's last renewal while the holder may lead until
 * RetryPeriod + RenewDeadline (2 + 10 s) after it.
 *
 * Same fixture as gate-off-mirror.test.ts: a lease grouped over "a" and "b", held by "old" from "a",
 * both apiservers with the CoordinatedLeaderElection gate off.
 */
async function gateOffGroup() {
  const fixture = await heldByOld();
  fixture.planes.a.gateOff = true;
  fixture.planes.b.gateOff = true;
  for (const cluster of ['a', 'b'] as const)
    fixture.planes[cluster].delete('Lease', fixture.key, undefined, 'test');
  await mirrorLease(fixture.deps, fixture.key);
  return { ...fixture, deps: { ...fixture.deps, fenceHolderLease: holderLeaseFence(fixture.deps.clusters) } };
}

describe('preemption by revoke counts the holder’s own lease duration (unit: in-memory gate-off clusters)', () => {
  it('does not name the successor before one of the holder’s lease durations after its last renewal, when ingest has not recorded that renewal yet', async () => {
    const fixture = await gateOffGroup();
    const { key, store, planes } = fixture;
    expect((await store.loadLease(key)).lease?.record).toMatchObject({
      holderIdentity: 'old',
      leaseDurationSeconds: 5, // our default, written with a new holder
    });

    // "old" (client-go: LeaseDuration 15 s, RenewDeadline 10 s, RetryPeriod 2 s) renews the Lease
    // that names it, with its own duration. Ingest is behind (throttled table, slow watch): the
    // renewal is not recorded. That is the case confirm-takeover exists for.
    fixture.advance(1_000);
    expect(planes.a.renewLease(key, 'old', 15)).toMatchObject({ ok: true });
    const lastRenewal = fixture.deps.clock();

    // A better candidate joins; the holder is revoked in its own cluster.
    await fixture.heartbeat('a', key, 'best', '1.33.0');
    expect(await reconcileLease(fixture.deps, key)).toMatchObject({ action: 'preempt' });
    expect((await mirrorLease(fixture.deps, key)).a).toBe('revoked');
    const revoke = planes.a.get('Lease', key)?.spec as {
      holderIdentity?: string;
      leaseDurationSeconds?: number;
    };
    expect(revoke.holderIdentity).toBe(REVOKED_HOLDER);
    // A legacy elector there waits out the holder's 15 s too.
    expect(revoke.leaseDurationSeconds).toBe(15);

    // From here the holder renews nothing (it is not named). Step the lease as the timers would,
    // with "best" answering every look, up to RetryPeriod + RenewDeadline after the holder's last
    // renewal: until then "old" may still be leading.
    for (let at = lastRenewal + 1_000; at <= lastRenewal + 12_000; at += 1_000) {
      fixture.advance(at - fixture.deps.clock());
      await fixture.heartbeat('a', key, 'best', '1.33.0');
      await reconcileLease(fixture.deps, key);
      expect(await fixture.holder(key)).toBe('old');
    }

    // Once the holder's own lease duration has passed since its last renewal, "best" is named.
    fixture.advance(lastRenewal + 15_001 - fixture.deps.clock());
    await fixture.heartbeat('a', key, 'best', '1.33.0');
    await reconcileLease(fixture.deps, key);
    expect(await fixture.holder(key)).toBe('best');
  });

  it('holds a takeover off for the holder’s own lease duration when the revoke is taken back', async () => {
    const fixture = await gateOffGroup();
    const { key, store, planes } = fixture;
    fixture.advance(1_000);
    expect(planes.a.renewLease(key, 'old', 15)).toMatchObject({ ok: true });
    const lastRenewal = fixture.deps.clock();
    await fixture.heartbeat('a', key, 'best', '1.33.0');
    await reconcileLease(fixture.deps, key);
    expect((await mirrorLease(fixture.deps, key)).a).toBe('revoked');

    // The successor leaves before it is named: the preference is taken back and the holder put back.
    const best = (await store.loadLease(key)).candidates.find((c) => c.name === 'best');
    await store.removeCandidate(key, 'a', 'best', best?.renewTime ?? 0);
    await reconcileLease(fixture.deps, key);
    await mirrorLease(fixture.deps, key);

    expect((await store.loadLease(key)).lease?.takeoverNotBefore).toBe(lastRenewal + 15_001);
  });
});
