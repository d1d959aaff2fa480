import { describe, expect, it } from 'vitest';
import { TERM_ANNOTATION } from '../../lib/api/lease.js';
import { handleSweep } from '../../lib/handlers/sweep.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import { clusterSweepPass } from '../../lib/sync/cluster-sweep.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { twoClusters } from '../helpers/two-clusters.js';

const LEASES = 20;

/**
 * LEASES leases over clusters "a" and "b", each with one candidate in "a", elected by a sweep and
 * mirrored into both clusters. Requests to the clusters are counted from then on.
 */
async function mirroredLeases() {
  const fixture = twoClusters();
  const { deps, requests, keyOf, heartbeat } = fixture;
  const keys: LeaseKey[] = [];
  for (let i = 0; i < LEASES; i++) {
    const key = keyOf(`lease-${i}`);
    keys.push(key);
    await heartbeat('a', key, `candidate-${i}`, '1.34.0');
  }
  await handleSweep(deps);
  for (const key of keys) await mirrorLease(deps, key);
  requests.length = 0;
  const sweep = () => handleSweep(deps, undefined, clusterSweepPass(deps, deps.clock));
  const count = (kind: string) => requests.filter((r) => r.endsWith(`:${kind}`)).length;
  return { ...fixture, keys, sweep, count };
}

describe('the sweep’s cluster pass (unit: in-memory table and clusters)', () => {
  it('lists each cluster’s Leases once and reads no Lease when every one matches its decision', async () => {
    const { sweep, count, requests } = await mirroredLeases();
    const result = await sweep();
    expect(result).toMatchObject({ scanned: LEASES, reconciled: 0, failed: 0 });
    expect(count('listLeases')).toBe(2);
    expect(count('readLease')).toBe(0);
    expect(requests).toHaveLength(2);
  });

  it('repairs only the Lease that differs, from a fresh read', async () => {
    const { sweep, count, planes, keys, store } = await mirroredLeases();
    const victim = keys[7] as LeaseKey;
    // Someone strips the term and rewrites the holder in the other cluster.
    const lease = planes.b.get('Lease', victim) ?? {};
    lease.metadata = { ...lease.metadata, annotations: {} };
    lease.spec = { ...(lease.spec as Record<string, unknown>), holderIdentity: 'intruder' };
    planes.b.replace('Lease', lease, 'intruder');
    await sweep();
    // One mirror of one lease: a read in each of its two clusters.
    expect(count('readLease')).toBe(2);
    const repaired = planes.b.get('Lease', victim);
    const decided = (await store.loadLease(victim)).lease?.record;
    expect((repaired?.spec as { holderIdentity?: string }).holderIdentity).toBe(decided?.holderIdentity);
    expect(repaired?.metadata?.annotations?.[TERM_ANNOTATION]).toBe(String(decided?.term));
  });

  it('creates a Lease missing from a cluster', async () => {
    const { sweep, planes, keys } = await mirroredLeases();
    const victim = keys[3] as LeaseKey;
    const lease = planes.b.get('Lease', victim);
    planes.b.delete('Lease', victim, lease?.metadata?.resourceVersion, 'someone');
    expect(planes.b.get('Lease', victim)).toBeUndefined();
    await sweep();
    expect(planes.b.get('Lease', victim)).toBeDefined();
  });

  it('leaves a renewal to the mirror that follows renewals: a newer renewTime alone is no drift', async () => {
    const { deps, sweep, count, planes, keys, store } = await mirroredLeases();
    const key = keys[0] as LeaseKey;
    const holder = (await store.loadLease(key)).lease?.record.holderIdentity ?? '';
    planes.a.renewLease(key, holder, 5);
    await ingestLease(deps, 'a', planes.a.get('Lease', key) ?? {});
    await sweep();
    expect(count('readLease')).toBe(0);
  });

  it('leaves out a cluster it cannot list, and still repairs the other', async () => {
    const { sweep, count, planes, keys, cut } = await mirroredLeases();
    const victim = keys[5] as LeaseKey;
    const lease = planes.a.get('Lease', victim);
    planes.a.delete('Lease', victim, lease?.metadata?.resourceVersion, 'someone');
    cut('b');
    const result = await sweep();
    expect(result.failed).toBe(0);
    expect(count('listLeases')).toBe(1);
    expect(planes.a.get('Lease', victim)).toBeDefined();
  });
});
