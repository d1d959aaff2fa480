import { describe, expect, it } from 'vitest';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import type { LeaseState } from '../../lib/ports/store.js';
import { HolderHints } from '../../lib/sync/holder-hints.js';
import { ingestLease, type ReleaseTakeover } from '../../lib/sync/ingest.js';
import { type ClusterRun, handleLease } from '../../lib/sync/ingest-run.js';
import { takeOverOnRelease } from '../../lib/sync/release-takeover.js';
import { heldByOld } from '../helpers/two-clusters.js';

/**
 * "old" holds the lease grouped over "a" and "b" from "a", "next" stands by in "a"; `afterMs` later
 * "old" lets go of its Lease in "a" (client-go's release) and ingest sees it, offering the release
 * to be taken over in the same write, as the deployed and local ingest do.
 */
async function releasedByOld(afterMs = 1_000) {
  const fixture = await heldByOld();
  const { planes, key } = fixture;
  fixture.advance(afterMs);
  expect(planes.a.releaseLease(key, 'old')).toMatchObject({ ok: true });
  const lease = planes.a.get('Lease', key) ?? {};
  const before = (await fixture.deps.store.loadLease(key)).lease;
  fixture.tableRequests.length = 0;
  fixture.requests.length = 0;
  return { ...fixture, lease, before };
}

type Fixture = Awaited<ReturnType<typeof releasedByOld>>;

/** Ingest's handling of the release, with `between` run after its read and before the takeover's write. */
function ingestRelease(fixture: Fixture, between: () => Promise<unknown> = async () => {}) {
  const { deps, lease } = fixture;
  const offered: ReleaseTakeover[] = [];
  const takeOverRelease = async (key: LeaseKey, unrecorded: LeaseState) => {
    await between();
    const taken = await takeOverOnRelease(deps, deps, key, { unrecorded, cluster: 'a', lease });
    offered.push(taken);
    return taken;
  };
  return { ingesting: ingestLease(deps, 'a', lease, { takeOverRelease }), offered };
}

const holderIn = (fixture: Fixture, cluster: 'a' | 'b') =>
  (fixture.planes[cluster].get('Lease', fixture.key)?.spec as { holderIdentity?: string } | undefined)
    ?.holderIdentity;

describe('ingest writes the takeover in place of the release (unit: in-memory table and clusters)', () => {
  it('names the successor in one table write after its read, under the release’s compare-and-set', async () => {
    const fixture = await releasedByOld();
    const { ingesting, offered } = ingestRelease(fixture);

    const ingested = await ingesting;

    expect(ingested.outcome).toBe('takeover');
    expect(offered).toEqual(['taken']);
    // The release is never recorded on its own: ingest's one read, then the decision's write.
    expect(fixture.tableRequests.filter((r) => r.startsWith('observeLease'))).toEqual([]);
    expect(fixture.tableRequests.filter((r) => r === 'loadLease')).toHaveLength(1);
    const record = await fixture.deps.store.loadLease(fixture.key);
    expect(record.lease?.record.holderIdentity).toBe('next');
    expect(record.lease?.record.term).toBe((fixture.before?.record.term ?? 0) + 1);
    expect(record.lease?.version).toBe((fixture.before?.version ?? 0) + 1);
    // The holder's cluster answered with the released Lease: not read again before the write.
    expect(fixture.requests.filter((r) => r === 'a:readLease')).toEqual([]);
    expect(holderIn(fixture, 'a')).toBe('next');
    expect(holderIn(fixture, 'b')).toBe('next');
  });

  it('records the release when the successor must answer a ping first', async () => {
    // "next" last renewed 6 s before the release: no fresh proof of life, so no takeover yet.
    const fixture = await releasedByOld(6_000);
    const { ingesting, offered } = ingestRelease(fixture);

    const ingested = await ingesting;

    expect(offered).toEqual(['declined']);
    expect(ingested.outcome).toBe('release');
    const record = (await fixture.deps.store.loadLease(fixture.key)).lease?.record;
    expect(record?.holderIdentity).toBe('');
    expect(record?.releasedHolder).toBe('old');
    expect(holderIn(fixture, 'a')).toBe('');
  });

  it('records the release from a fresh read when a writer came between: never a takeover over it', async () => {
    const fixture = await releasedByOld();
    const { deps, key, before } = fixture;
    // The holder's earlier renewal, recorded by another ingest after this one read the lease.
    const renewal = async () => {
      fixture.advance(10);
      await deps.store.observeLease(
        key,
        { cluster: 'a', holderIdentity: 'old', leaseDurationSeconds: 5, renewTime: deps.clock() },
        before,
        deps.clock(),
      );
    };
    const { ingesting, offered } = ingestRelease(fixture, renewal);

    const ingested = await ingesting;

    expect(offered).toEqual(['lost']);
    expect(ingested.outcome).toBe('release');
    const record = (await deps.store.loadLease(key)).lease?.record;
    expect(record?.holderIdentity).toBe('');
    expect(record?.releasedHolder).toBe('old');
    expect(record?.term).toBe(before?.record.term);
    expect(holderIn(fixture, 'a')).toBe('');
  });
});

describe('ingest’s Lease handler offers releases to be taken over (unit)', () => {
  /** The handler as the ingest runner calls it, with the fast path's calls recorded. */
  async function handleRelease(fixture: Fixture) {
    const { deps, lease } = fixture;
    const scheduled: string[] = [];
    const run = {
      deps,
      cluster: 'a',
      signal: new AbortController().signal,
      hints: new HolderHints(),
      options: {
        onRelease: (key, release) => takeOverOnRelease(deps, deps, key, release),
        onChange: (key, known) => scheduled.push(`${key.name}:${known === undefined ? 'read' : 'known'}`),
      },
    } as Partial<ClusterRun> as ClusterRun;
    await handleLease(run, lease);
    return scheduled;
  }

  it('a release taken over is not handed to the fast path again', async () => {
    const fixture = await releasedByOld();

    const scheduled = await handleRelease(fixture);

    expect(holderIn(fixture, 'a')).toBe('next');
    expect(scheduled).toEqual([]);
  });

  it('a release recorded instead goes to the fast path with the lease as recorded', async () => {
    const fixture = await releasedByOld(6_000);

    const scheduled = await handleRelease(fixture);

    expect(holderIn(fixture, 'a')).toBe('');
    expect(scheduled).toEqual(['kube-scheduler:known']);
  });
});
