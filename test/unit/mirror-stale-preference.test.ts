import { describe, expect, it } from 'vitest';
import { PREFERRED_HOLDER_ANNOTATION } from '../../lib/api/lease.js';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { heldByOld } from '../helpers/two-clusters.js';

/**
 * Found by the liveness property (seed -1995066762, docs/reliability.md, "A holder that yielded to a
 * stale preference"): a mirror pass held up by a slow cluster wrote a preference after the record had
 * taken it back, and the pass that carried the withdrawal had found nothing to write.
 */
describe('a mirror pass that lands after the preference it carries was taken back (unit: in-memory fakes)', () => {
  it('writes the preference out again, so the holder is not asked to yield to nobody', async () => {
    const fixture = await heldByOld();
    const { key, store, planes } = fixture;
    await fixture.heartbeat('a', key, 'best', '1.33.0');
    await reconcileLease(fixture.deps, key);
    // The pass reads the decision that prefers "best", then waits on its cluster.
    const held = await store.loadLease(key);
    expect(held.lease?.record.preferredHolder).toBe('best');

    // Meanwhile "best" leaves, the record takes the preference back, and nothing shows it yet.
    const best = held.candidates.find((c) => c.name === 'best');
    await store.removeCandidate(key, 'a', 'best', best?.renewTime ?? 0);
    await reconcileLease(fixture.deps, key);
    expect((await store.loadLease(key)).lease?.record.preferredHolder).toBeUndefined();

    // The held-up pass lands: its cluster answers each request 600 ms late.
    const slow = {
      ...fixture.deps,
      clusters: {
        get: async (name: string) =>
          (name === 'a' ? planes.a : planes.b).port(async () => fixture.advance(600)),
      },
    };
    await mirrorLease(slow, key, held);

    for (const cluster of [planes.a, planes.b]) {
      const lease = cluster.get('Lease', key);
      expect(lease?.spec).toMatchObject({ holderIdentity: 'old' });
      expect((lease?.spec as { preferredHolder?: string }).preferredHolder).toBeUndefined();
      expect(lease?.metadata?.annotations?.[PREFERRED_HOLDER_ANNOTATION]).toBeUndefined();
    }
  });
});
