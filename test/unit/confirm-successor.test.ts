import { describe, expect, it } from 'vitest';
import { UNREACHABLE_RETRY_MS } from '../../lib/coordinator/confirm-takeover.js';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { ClusterTimeoutError } from '../../lib/errors.js';
import type { CoordinatorDeps } from '../../lib/ports/coordinator.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { httpHeartbeat } from '../helpers/http-heartbeat.js';
import { type PairCluster, twoClusters } from '../helpers/two-clusters.js';

/** The apiserver request timeout (lib/kube/request.ts). */
const REQUEST_TIMEOUT_MS = 10_000;

/** One lease over clusters "a" and "b"; heartbeats and the holder are of that lease. */
function pair() {
  const fixture = twoClusters();
  const key = fixture.keyOf('pair');
  return {
    ...fixture,
    key,
    heartbeat: (cluster: PairCluster, name: string, emulationVersion: string) =>
      fixture.heartbeat(cluster, key, name, emulationVersion),
    holder: () => fixture.holder(key),
  };
}

describe('electing only into a cluster that answers (unit: in-memory table and clusters)', () => {
  it('leaves out the candidates of a cluster that does not answer, and looks again shortly', async () => {
    const { key, deps, armed, heartbeat, holder, cut } = pair();
    await heartbeat('a', 'best', '1.30.0');
    await heartbeat('b', 'next', '1.31.0');
    cut('a');
    const step = await reconcileLease(deps, key);
    expect(step.action).not.toBe('none');
    expect(await holder()).toBe('next');
    expect(armed.at(-1)).toBeLessThanOrEqual(deps.clock() + UNREACHABLE_RETRY_MS);
  });

  it('elects the best candidate when its cluster answers (the same view, nothing cut)', async () => {
    const { key, deps, heartbeat, holder } = pair();
    await heartbeat('a', 'best', '1.30.0');
    await heartbeat('b', 'next', '1.31.0');
    await reconcileLease(deps, key);
    expect(await holder()).toBe('best');
  });

  it('elects nobody while every candidate’s cluster is out, and looks again shortly', async () => {
    const { key, deps, armed, heartbeat, holder, cut, heal } = pair();
    await heartbeat('a', 'best', '1.30.0');
    await heartbeat('b', 'next', '1.31.0');
    cut('a');
    cut('b');
    await reconcileLease(deps, key);
    expect(await holder()).toBeUndefined();
    expect(armed).toEqual([deps.clock() + UNREACHABLE_RETRY_MS]);
    heal('a');
    await reconcileLease(deps, key);
    expect(await holder()).toBe('best');
  });

  it('still elects a candidate that heartbeats over HTTP when its cluster does not answer: it reads its lease from our API', async () => {
    const { key, deps, heartbeat, holder, cut } = pair();
    await deps.store.putHeartbeat(
      key,
      'a',
      httpHeartbeat(key, 'over-http', '1.30.0', deps.clock()),
      deps.clock(),
    );
    await heartbeat('b', 'next', '1.31.0');
    cut('a');
    await reconcileLease(deps, key);
    expect(await holder()).toBe('over-http');
  });

  /** "best" in "a" leads and goes silent; "next" in "b" stays alive. */
  async function silentHolderInA() {
    const fixture = pair();
    const { key, deps, planes, heartbeat, advance } = fixture;
    await heartbeat('a', 'best', '1.30.0');
    await heartbeat('b', 'next', '1.31.0');
    await reconcileLease(deps, key);
    await mirrorLease(deps, key);
    planes.a.renewLease(key, 'best', 5);
    await ingestLease(deps, 'a', planes.a.get('Lease', key) ?? {});
    advance(6_000);
    await heartbeat('b', 'next', '1.31.0');
    return fixture;
  }

  it('takes over from a silent holder in a cluster that answers, into the other cluster', async () => {
    const { key, deps, holder } = await silentHolderInA();
    expect((await reconcileLease(deps, key)).action).toBe('takeover');
    expect(await holder()).toBe('next');
  });

  it('TakeOver: the holder’s cluster out, a candidate in the other cluster takes over; Wait keeps the holder', async () => {
    const { key, deps, holder, cut } = await silentHolderInA();
    cut('a');
    await reconcileLease(deps, key);
    expect(await holder()).toBe('best');
    await reconcileLease({ ...deps, holderClusterUnreachable: () => 'TakeOver' }, key);
    expect(await holder()).toBe('next');
  });

  it('TakeOver gives nobody the lease when the only other candidate’s cluster is out too', async () => {
    const { key, deps, holder, cut } = await silentHolderInA();
    cut('a');
    cut('b');
    await reconcileLease({ ...deps, holderClusterUnreachable: () => 'TakeOver' }, key);
    expect(await holder()).toBe('best');
  });

  it('TakeOver against a holder cluster that hangs: the read times out and the takeover is made, not another ping', async () => {
    const { key, deps, holder, advance, store } = await silentHolderInA();
    // "a" accepts the request and never answers: the read fails after the request timeout.
    const hung: CoordinatorDeps = {
      ...deps,
      holderClusterUnreachable: () => 'TakeOver',
      readHolderLease: async (cluster, leaseKey) => {
        if (cluster !== 'a') return deps.readHolderLease(cluster, leaseKey);
        advance(REQUEST_TIMEOUT_MS);
        throw new ClusterTimeoutError(cluster, REQUEST_TIMEOUT_MS);
      },
    };
    const step = await reconcileLease(hung, key);
    expect(step.action).toBe('takeover');
    expect(await holder()).toBe('next');
    // The new term starts when the reads ended, not when the step began.
    expect((await store.loadLease(key)).lease?.record.renewTime).toBe(deps.clock());
  });
});
