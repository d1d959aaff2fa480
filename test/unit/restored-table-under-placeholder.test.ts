import { describe, expect, it } from 'vitest';
import { FENCED_HOLDER, REVOKED_HOLDER, TERM_ANNOTATION } from '../../lib/api/lease.js';
import { formatMicroTime } from '../../lib/api/time.js';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { holderLeaseFence, holderLeaseReader } from '../../lib/sync/holder-lease-reader.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { singleCluster } from '../helpers/single-cluster.js';

/**
 * docs/reliability.md, "A table recreated or restored": a Lease showing a term of ours above the
 * record's is news, so decisions after a restore go above it and reach the cluster. That holds for
 * our placeholders too: a revoke (gate off: every preemption) or a takeover's fence that still
 * stands under a term the backup predates. Ignored as our own write, every later decision would be
 * under a lower term than the Lease's, the mirror would refuse it, and the Lease would keep naming
 * the placeholder: the client-go candidate we elect would never learn it leads.
 */

/** What our own coordinator wrote after the backup was taken: a revoke (or a fence) under term 5. */
function placeholder(key: { namespace: string; name: string }, holder: string, renewTime: number) {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { namespace: key.namespace, name: key.name, annotations: { [TERM_ANNOTATION]: '5' } },
    spec: {
      holderIdentity: holder,
      leaseDurationSeconds: 15,
      renewTime: formatMicroTime(renewTime),
      acquireTime: formatMicroTime(renewTime),
    },
  };
}

describe.each([
  ['our revoke (preemption by revoke, gate off)', REVOKED_HOLDER],
  ['our takeover’s fence', FENCED_HOLDER],
])(
  'a table restored from a backup older than %s that the Lease still shows (unit: in-memory gate-off cluster)',
  (_what, holder) => {
    it('the next holder is elected above the Lease’s term and reaches the Lease', async () => {
      const fixture = singleCluster('c', 'solo', 'kube-system', { gate: 'off' });
      const { key, cluster, store, clock, heartbeat, advance } = fixture;
      const deps = {
        ...fixture.deps,
        readHolderLease: holderLeaseReader(fixture.deps.clusters),
        fenceHolderLease: holderLeaseFence(fixture.deps.clusters),
      };
      // The backup: "old" holds under term 1.
      await heartbeat('old', '1.30.0');
      await reconcileLease(deps, key);
      await mirrorLease(deps, key);
      expect((await store.loadLease(key)).lease?.record).toMatchObject({ holderIdentity: 'old', term: 1 });

      // Later (lost by the restore), our coordinator raised the term to 5 and left this placeholder.
      expect(cluster.replace('Lease', placeholder(key, holder, clock()), 'coordinator')).toMatchObject({
        ok: true,
      });
      // Ingest sees it, and records it as no holder under term 5.
      await ingestLease(deps, 'c', cluster.get('Lease', key) ?? {});

      // Long after: a candidate comes, "old" is long gone.
      advance(60_000);
      await heartbeat('next', '1.31.0');
      // Ten looks a second apart: room for a ping window (5 s) should the step ask "old" first.
      for (let i = 0; i < 10; i++) {
        await reconcileLease(deps, key);
        await mirrorLease(deps, key);
        advance(1_000);
        await heartbeat('next', '1.31.0');
      }
      const record = (await store.loadLease(key)).lease?.record;
      const lease = cluster.get('Lease', key);
      expect(record?.holderIdentity).toBe('next');
      // Elected above the Lease's term, so the mirror writes it there.
      expect(record?.term).toBeGreaterThan(5);
      expect((lease?.spec as { holderIdentity?: string }).holderIdentity).toBe('next');
      expect(Number(lease?.metadata?.annotations?.[TERM_ANNOTATION])).toBeGreaterThan(5);
    });
  },
);
