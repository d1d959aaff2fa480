import { describe, expect, it } from 'vitest';
import { TERM_ANNOTATION } from '../../lib/api/lease.js';
import { handleSweep } from '../../lib/handlers/sweep.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { heldByOld } from '../helpers/two-clusters.js';

function specIn(fixture: Awaited<ReturnType<typeof heldByOld>>, cluster: 'a' | 'b') {
  const lease = fixture.planes[cluster].get('Lease', fixture.key);
  return {
    spec: (lease?.spec ?? {}) as { holderIdentity?: string; renewTime?: string },
    term: lease?.metadata?.annotations?.[TERM_ANNOTATION],
  };
}

describe('mirror after the holder lets go (unit: in-memory table and clusters)', () => {
  it('does not write the holder back over its own release when it read the table just before it', async () => {
    const fixture = await heldByOld();
    const { deps, store, planes, key } = fixture;
    expect(specIn(fixture, 'a').spec.holderIdentity).toBe('old');
    // A mirror pass (a ping's, say) reads the table; then the holder releases in its cluster,
    // before ingest has recorded that.
    const readBefore = await store.loadLease(key);
    fixture.advance(1_000);
    expect(planes.a.releaseLease(key, 'old')).toMatchObject({ ok: true });

    const outcomes = await mirrorLease(deps, key, readBefore);

    expect(outcomes.a).toBe('released');
    expect(specIn(fixture, 'a').spec.holderIdentity).toBe('');
    // The other cluster shows the decision as written; nobody renews it there.
    expect(outcomes.b).toBe('in-sync');
  });

  it('writes the next decision over the release once ingest has recorded it', async () => {
    const fixture = await heldByOld();
    const { deps, store, planes, key } = fixture;
    const released = (await store.loadLease(key)).lease?.record.term ?? 0;
    fixture.advance(1_000);
    planes.a.releaseLease(key, 'old');
    await ingestLease(deps, 'a', planes.a.get('Lease', key) ?? {});
    await handleSweep(deps);
    const decided = (await store.loadLease(key)).lease?.record;
    expect(decided?.term).toBeGreaterThan(released);
    expect(decided?.holderIdentity).toMatch(/^(old|next)$/);

    const outcomes = await mirrorLease(deps, key);

    expect(outcomes).toEqual({ a: 'replaced', b: 'replaced' });
    for (const cluster of ['a', 'b'] as const) {
      expect(specIn(fixture, cluster).spec.holderIdentity).toBe(decided?.holderIdentity);
      expect(specIn(fixture, cluster).term).toBe(String(decided?.term));
    }
  });

  it('still repairs a Lease emptied under an older term', async () => {
    const fixture = await heldByOld();
    const { deps, store, planes, key } = fixture;
    const record = (await store.loadLease(key)).lease?.record;
    const lease = planes.a.get('Lease', key) ?? {};
    lease.metadata = {
      ...lease.metadata,
      annotations: { [TERM_ANNOTATION]: String((record?.term ?? 1) - 1) },
    };
    lease.spec = { ...(lease.spec as Record<string, unknown>), holderIdentity: '' };
    planes.a.replace('Lease', lease, 'someone');

    expect((await mirrorLease(deps, key)).a).toBe('replaced');
    expect(specIn(fixture, 'a').spec.holderIdentity).toBe('old');
  });
});
