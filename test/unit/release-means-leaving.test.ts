import { describe, expect, it } from 'vitest';
import { PREFERRED_HOLDER_ANNOTATION } from '../../lib/api/lease.js';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { ELECTION_DURATION_MS } from '../../lib/election/timing.js';
import { planObserveLease } from '../../lib/store/plan-observed-lease.js';
import type { WritePlan } from '../../lib/store/write-plan.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { heldByOld } from '../helpers/two-clusters.js';

type UpdatePlan = Extract<WritePlan, { kind: 'update' }>;

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

  it('a release from a Lease that still asked the holder to yield is a yield, however long ago the record took the preference back', async () => {
    // Found by the liveness property (seed -1995066762): a mirror pass held up by a slow cluster wrote a
    // preference 31 s after the record had taken it back, the holder yielded to it, and, taken for
    // leaving, it was never pinged: nobody led again.
    const fixture = await heldByOld();
    const { key, planes } = fixture;
    fixture.advance(1_000);
    await fixture.heartbeat('a', key, 'old', '1.34.0');
    await fixture.heartbeat('a', key, 'next', '1.35.0');
    const lease = planes.a.get('Lease', key) ?? {};
    const annotations = { ...lease.metadata?.annotations, [PREFERRED_HOLDER_ANNOTATION]: 'gone' };
    expect(
      planes.a.replace('Lease', { ...lease, metadata: { ...lease.metadata, annotations } }, 'coordinator'),
    ).toMatchObject({ ok: true });
    fixture.advance(100);
    expect(planes.a.releaseLease(key, 'old')).toMatchObject({ ok: true });
    expect(await ingestLease(fixture.deps, 'a', planes.a.get('Lease', key) ?? {})).toMatchObject({
      outcome: 'release',
    });
    expect((await fixture.deps.store.loadLease(key)).lease?.record).toMatchObject({
      releasedHolder: 'old',
      releasedYielding: true,
    });

    // Not leaving: it stays in the election, and its heartbeat from before the release still counts.
    const step = await reconcileLease(fixture.deps, key);
    expect(step).toMatchObject({ action: 'takeover', write: { holderIdentity: 'old' } });
  });

  it('a release from a Lease that asked nothing is leaving, whatever an earlier release was', async () => {
    // A record that still carries an earlier yield (a holding recorded over it keeps the record's other fields).
    const key = { scope: 'a', namespace: 'kube-system', name: 'kube-scheduler' };
    const stored = {
      version: 7,
      record: {
        term: 2,
        holderIdentity: 'old',
        holderCluster: 'a',
        releasedHolder: 'prior',
        releasedYielding: true,
      },
    };
    const release = { cluster: 'a', holderIdentity: '', leaseDurationSeconds: 1, renewTime: 1_000 };
    const leaving = planObserveLease(key, release, stored, 2_000) as UpdatePlan;
    expect(leaving.remove).toContain('releasedYielding');
    expect(leaving.set).toMatchObject({ releasedHolder: 'old' });
    expect(leaving.set).not.toHaveProperty('releasedYielding');
    const yielding = planObserveLease(key, { ...release, yielding: true }, stored, 2_000) as UpdatePlan;
    expect(yielding.remove ?? []).not.toContain('releasedYielding');
    expect(yielding.set).toMatchObject({ releasedHolder: 'old', releasedYielding: true });
  });

  it('asks the one that left, once, when nobody else can lead, and names it again once it answers', async () => {
    // The liveness fix's gap (docs/reliability.md): a yield whose preference was taken back before the
    // Lease showed it reads as leaving, and the holder, alive, waited for its next heartbeat (5 minutes).
    const fixture = await holderReleases();
    const { key } = fixture;
    fixture.advance(ELECTION_DURATION_MS + 1);
    const nextAsked = await reconcileLease(fixture.deps, key);
    expect(nextAsked.action).toBe('ping');
    expect(nextAsked.ping.map((c) => c.name)).toEqual(['next']);
    fixture.advance(ELECTION_DURATION_MS + 1);
    const oldAsked = await reconcileLease(fixture.deps, key);
    expect(oldAsked.action).toBe('ping');
    expect(oldAsked.ping.map((c) => c.name)).toEqual(['old']);
    fixture.advance(100);
    await fixture.heartbeat('a', key, 'old', '1.34.0');
    const step = await reconcileLease(fixture.deps, key);
    expect(step).toMatchObject({ action: 'takeover', write: { holderIdentity: 'old' } });
  });

  it('does not ask the one that left again when it let the ping go unanswered', async () => {
    const fixture = await holderReleases();
    fixture.advance(ELECTION_DURATION_MS + 1);
    await reconcileLease(fixture.deps, fixture.key);
    fixture.advance(ELECTION_DURATION_MS + 1);
    expect((await reconcileLease(fixture.deps, fixture.key)).ping.map((c) => c.name)).toEqual(['old']);
    fixture.advance(ELECTION_DURATION_MS + 1);
    const step = await reconcileLease(fixture.deps, fixture.key);
    expect(step.ping).toEqual([]);
    expect(step.write).toBeNull();
  });

  it('counts the one that left again once it heartbeats after its release', async () => {
    const fixture = await holderReleases();
    fixture.advance(100);
    await fixture.heartbeat('a', fixture.key, 'old', '1.34.0');
    const step = await reconcileLease(fixture.deps, fixture.key);
    expect(step).toMatchObject({ action: 'takeover', write: { holderIdentity: 'old' } });
  });
});
