import { describe, expect, it } from 'vitest';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { heldByOld } from '../helpers/two-clusters.js';

/** "old" (1.34, the strategy's choice) holds the lease from "a"; "next" (1.35) stands by; both fresh. */
async function holderReleases() {
  const fixture = await heldByOld();
  fixture.advance(1_000);
  await fixture.heartbeat('a', fixture.key, 'old', '1.34.0');
  await fixture.heartbeat('a', fixture.key, 'next', '1.35.0');
  fixture.advance(100);
  // client-go's ReleaseOnCancel on a clean stop (a rolling restart), carried in by ingest.
  expect(fixture.planes.a.releaseLease(fixture.key, 'old')).toMatchObject({ ok: true });
  const ingested = await ingestLease(fixture.deps, 'a', fixture.planes.a.get('Lease', fixture.key) ?? {});
  expect(ingested.outcome).toBe('release');
  return fixture;
}

describe('a release means leaving (unit: in-memory table and clusters)', () => {
  it('hands the lease to the next best candidate at once, not back to the one that left', async () => {
    const fixture = await holderReleases();
    const step = await reconcileLease(fixture.deps, fixture.key);
    expect(step).toMatchObject({ action: 'takeover', write: { holderIdentity: 'next' } });
    expect(step.write?.releasedHolder).toBeUndefined();
  });

  it('has left every cluster of its group: its copy in another cluster, renewed before the release, is not elected', async () => {
    const fixture = await heldByOld();
    fixture.advance(1_000);
    await fixture.heartbeat('a', fixture.key, 'old', '1.34.0');
    // The same identity registered in the group's other cluster too (docs/clusters.md: one identity, one process).
    await fixture.heartbeat('b', fixture.key, 'old', '1.34.0');
    await fixture.heartbeat('a', fixture.key, 'next', '1.35.0');
    fixture.advance(100);
    expect(fixture.planes.a.releaseLease(fixture.key, 'old')).toMatchObject({ ok: true });
    await ingestLease(fixture.deps, 'a', fixture.planes.a.get('Lease', fixture.key) ?? {});
    const step = await reconcileLease(fixture.deps, fixture.key);
    expect(step).toMatchObject({ action: 'takeover', write: { holderIdentity: 'next' } });
  });

  it('counts the one that left again once it heartbeats after its release', async () => {
    const fixture = await holderReleases();
    fixture.advance(100);
    await fixture.heartbeat('a', fixture.key, 'old', '1.34.0');
    const step = await reconcileLease(fixture.deps, fixture.key);
    expect(step).toMatchObject({ action: 'takeover', write: { holderIdentity: 'old' } });
  });
});
