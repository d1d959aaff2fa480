import { randomInt } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREFERRED_HOLDER_ANNOTATION, TERM_ANNOTATION } from '../../lib/api/lease.js';
import { formatMicroTime } from '../../lib/api/time.js';
import { parseClustersConfig } from '../../lib/clusters/config.js';
import { handleSweep } from '../../lib/handlers/sweep.js';
import { applyRbac, benchInTreeController, kube, leaseCandidate } from '../../lib/harness/kube-admin.js';
import { ensureKubeBinaries } from '../../lib/kube-local/build.js';
import { type ControlPlane, startControlPlane, writeKubeconfig } from '../../lib/kube-local/control-plane.js';
import type { RawObject } from '../../lib/ports/cluster.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import { clusterSweepPass } from '../../lib/sync/cluster-sweep.js';
import { decideAndMirror } from '../../lib/sync/decide-now.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { ingestCandidate } from '../../lib/sync/ingest-candidate.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { NewCandidateReads } from '../../lib/sync/new-candidate-reads.js';
import type { ClusterWiring } from '../../lib/wiring/coordinator.js';
import { startTestStack, type TestStack } from '../helpers/local-stack.js';

/**
 * A Lease another elector holds is never written over (docs/design.md, rule 3), and a preference
 * for a candidate that went away is taken back. One kube-apiserver with the CoordinatedLeaderElection
 * gate on (`alpha`: it keeps spec.preferredHolder) and one with it off (`bravo`: it drops it, so the
 * preference is only our annotation), and DynamoDB Local. Nothing runs on its own here (no ingest, no
 * stream polling): each test takes the coordinator's steps itself, in the order a race would.
 */

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/default/leases';
const CANDIDATES = '/apis/coordination.k8s.io/v1beta1/namespaces/default/leasecandidates';
const LEGACY = 'legacy-elector';
const DURATION_S = 15;

type Spec = Record<string, unknown>;

async function leaseIn(plane: ControlPlane, name: string): Promise<RawObject | undefined> {
  const res = await kube(plane, 'GET', `${LEASES}/${name}`);
  return res.status === 200 ? (res.json as RawObject) : undefined;
}

const specOf = (lease: RawObject | undefined) => (lease?.spec ?? {}) as Spec;

/** What an uncoordinated client-go elector creates when it finds no Lease: itself, on its own clock, no term of ours. */
function legacyLease(name: string, renewTime = Date.now()) {
  const stamp = formatMicroTime(renewTime);
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: 'default' },
    spec: {
      holderIdentity: LEGACY,
      leaseDurationSeconds: DURATION_S,
      acquireTime: stamp,
      renewTime: stamp,
      leaseTransitions: 0,
    },
  };
}

describe('a Lease held by another elector (integration: kube-apiservers gate on and off, DynamoDB Local)', () => {
  let alpha: ControlPlane;
  let bravo: ControlPlane;
  let stack: TestStack;
  let wiring: ClusterWiring;
  const keyIn = (cluster: 'alpha' | 'bravo', name: string): LeaseKey => ({
    scope: cluster,
    namespace: 'default',
    name,
  });

  beforeAll(async () => {
    await ensureKubeBinaries();
    [alpha, bravo] = await Promise.all([
      startControlPlane('alpha', { gate: 'on' }),
      startControlPlane('bravo', { gate: 'off' }),
    ]);
    for (const plane of [alpha, bravo]) await applyRbac(plane);
    await benchInTreeController(alpha);
    const dir = mkdtempSync(join(tmpdir(), 'lease-coordinator-foreign-holder-'));
    writeKubeconfig(join(dir, 'kubeconfig'), [alpha, bravo], 'coordinator');
    const config = parseClustersConfig({
      clusters: [
        { name: 'alpha', kubeconfig: { path: 'kubeconfig', context: 'alpha' } },
        // A gate-off cluster whose holders read the preference from our annotation (e.g. the agent).
        {
          name: 'bravo',
          kubeconfig: { path: 'kubeconfig', context: 'bravo' },
          preemption: 'PreferredHolder',
        },
      ],
    });
    stack = await startTestStack({ realClock: true, clusters: { config, configDir: dir } });
    if (stack.deps.clusterWiring === undefined) throw new Error('the stack reaches no cluster');
    wiring = stack.deps.clusterWiring;
  }, 3_600_000);

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([alpha?.stop(), bravo?.stop()]);
  });

  /** Stores `name`'s LeaseCandidate as ingest does for a watch's ADDED event, with the reads beside it. */
  async function newCandidate(plane: ControlPlane, name: string, leaseName: string, emulation: string) {
    const created = await kube(
      plane,
      'POST',
      CANDIDATES,
      leaseCandidate(name, leaseName, { binary: '1.35.0', emulation }, Date.now()),
    );
    expect(created.status).toBe(201);
    const reads = new NewCandidateReads(wiring);
    const { stored } = await ingestCandidate(
      wiring,
      plane.name,
      'ADDED',
      created.json as RawObject,
      true,
      reads.start,
    );
    return { stored, reads };
  }

  /** A first decision stored in the table, naming `holder` in alpha under term 1 (as of now, returned). */
  async function firstDecision(key: LeaseKey, holder: string): Promise<number> {
    const now = Date.now();
    const record = {
      term: 1,
      holderIdentity: holder,
      holderCluster: 'alpha',
      leaseDurationSeconds: DURATION_S,
      renewTime: now,
      strategy: 'OldestEmulationVersion',
    };
    await stack.deps.store.writeLease(key, record, undefined, now);
    return now;
  }

  /** The object at `path` renewed now (its spec.renewTime), as its owner renews it; the object as stored. */
  /** Now, stamped as client-go stamps it: to the microsecond (ours are whole milliseconds). */
  const clientGoNow = () =>
    formatMicroTime(Date.now()).replace(/000Z$/, `${String(randomInt(1, 1000)).padStart(3, '0')}Z`);

  async function renewNow(plane: ControlPlane, path: string): Promise<RawObject> {
    const renewal = { spec: { renewTime: clientGoNow() } };
    const renewed = await kube(plane, 'PATCH', path, renewal, 'admin', 'application/merge-patch+json');
    expect(renewed.status).toBe(200);
    return renewed.json as RawObject;
  }

  /** The candidate renews its LeaseCandidate (answering any ping), and ingest stores it. */
  async function renewCandidate(plane: ControlPlane, name: string) {
    const renewed = await renewNow(plane, `${CANDIDATES}/${name}`);
    expect((await ingestCandidate(wiring, plane.name, 'MODIFIED', renewed)).outcome).toBe('stored');
  }

  it('the mirror of a first decision leaves a Lease a legacy elector created after the adoption read, and records its holder', async () => {
    const key = keyIn('alpha', 'adopted-late');
    // The decider read no Lease in alpha and decided: cand-x holds, term 1.
    await firstDecision(key, 'cand-x');
    // Meanwhile a legacy elector found no Lease either, created it and leads.
    expect((await kube(alpha, 'POST', LEASES, legacyLease(key.name))).status).toBe(201);

    const outcomes = await mirrorLease(wiring, key);

    expect(outcomes).toEqual({ alpha: 'held-by-another' });
    const lease = await leaseIn(alpha, key.name);
    expect(specOf(lease).holderIdentity).toBe(LEGACY);
    expect(lease?.metadata?.annotations?.[TERM_ANNOTATION]).toBeUndefined();
    // Recorded as the holder under a new term, so the usual rules (ask it to yield) take over.
    expect((await stack.deps.store.loadLease(key)).lease?.record).toMatchObject({
      holderIdentity: LEGACY,
      holderCluster: 'alpha',
      term: 2,
    });
  });

  it('a new candidate’s fast path, its reads taken before a legacy elector created the Lease, does not name it over the legacy holder', async () => {
    const key = keyIn('alpha', 'raced');
    // Ingest stores the new candidate, with the table and the Lease (none yet) read beside its write.
    const { stored, reads } = await newCandidate(alpha, 'cand-y', key.name, '1.34.0');
    // The legacy elector creates the Lease after those reads and before the decision's mirror.
    expect((await kube(alpha, 'POST', LEASES, legacyLease(key.name))).status).toBe(201);
    const change = await reads.known('alpha', stored);
    expect(change?.leases).toEqual([{ cluster: 'alpha', lease: undefined }]);

    await decideAndMirror(stack.deps, wiring, key, { ...(change !== undefined && { change }) });

    expect(specOf(await leaseIn(alpha, key.name)).holderIdentity).toBe(LEGACY);
    const { lease } = await stack.deps.store.loadLease(key);
    expect(lease?.record.holderIdentity).toBe(LEGACY);
    // The next step asks the legacy holder to yield, and the mirror says so on its Lease, which it keeps.
    await renewCandidate(alpha, 'cand-y');
    await decideAndMirror(stack.deps, wiring, key);
    const after = await leaseIn(alpha, key.name);
    expect(specOf(after)).toMatchObject({ holderIdentity: LEGACY, preferredHolder: 'cand-y' });
    expect(after?.metadata?.annotations?.[TERM_ANNOTATION]).toBe(String(lease?.record.term));
  });

  it('the sweep does not repair a live legacy holder as drift: it records it', async () => {
    const key = keyIn('alpha', 'swept');
    await firstDecision(key, 'cand-z');
    expect((await kube(alpha, 'POST', LEASES, legacyLease(key.name))).status).toBe(201);

    await handleSweep(stack.deps, undefined, clusterSweepPass(wiring, stack.deps.clock));

    expect(specOf(await leaseIn(alpha, key.name)).holderIdentity).toBe(LEGACY);
    expect((await stack.deps.store.loadLease(key)).lease?.record.holderIdentity).toBe(LEGACY);
  });

  it('records a legacy holder whose Lease ran out on its own renewTime as seen at the read, and leaves its Lease', async () => {
    // Its stamp says when its write began, on its own clock: a slow write or a clock behind ours makes a
    // live elector look expired, so it is recorded as renewed now and taken over only if it stops renewing.
    const key = keyIn('alpha', 'expired-legacy');
    const now = await firstDecision(key, 'cand-w');
    const lapsed = now - (DURATION_S + 1) * 1000;
    expect((await kube(alpha, 'POST', LEASES, legacyLease(key.name, lapsed))).status).toBe(201);

    const read = Date.now();
    expect(await mirrorLease(wiring, key)).toEqual({ alpha: 'held-by-another' });
    expect(specOf(await leaseIn(alpha, key.name)).holderIdentity).toBe(LEGACY);
    const record = (await stack.deps.store.loadLease(key)).lease?.record;
    expect(record?.holderIdentity).toBe(LEGACY);
    expect(record?.renewTime).toBeGreaterThanOrEqual(read);
  });

  describe('a preference for a candidate that goes away before the holder yields is taken back', () => {
    /** A candidate of `cluster` heard over HTTP (a heartbeat into the table), fresh now. */
    const heartbeat = (cluster: string, key: LeaseKey, name: string, emulation: string) =>
      stack.deps.store.putHeartbeat(
        key,
        cluster,
        {
          apiVersion: 'v1beta1',
          name,
          namespace: key.namespace,
          leaseName: key.name,
          binaryVersion: '1.35.0',
          emulationVersion: emulation,
          strategy: 'OldestEmulationVersion',
          renewTime: Date.now(),
        },
        Date.now(),
      );

    /** The holder renews its own Lease, and ingest records the renewal. */
    async function holderRenews(plane: ControlPlane, key: LeaseKey) {
      const renewed = await renewNow(plane, `${LEASES}/${key.name}`);
      expect((await ingestLease(wiring, plane.name, renewed)).outcome).toBe('renewal');
    }

    /** "holder" leads; the better "preferred" comes and the holder is asked to yield to it. */
    async function askedToYield(plane: ControlPlane, key: LeaseKey, preferred: () => Promise<unknown>) {
      await heartbeat(plane.name, key, 'holder', '1.35.0');
      await decideAndMirror(stack.deps, wiring, key);
      expect(specOf(await leaseIn(plane, key.name)).holderIdentity).toBe('holder');
      await preferred();
      await decideAndMirror(stack.deps, wiring, key);
      expect((await stack.deps.store.loadLease(key)).lease?.record.preferredHolder).toBe('preferred');
      const lease = await leaseIn(plane, key.name);
      expect(lease?.metadata?.annotations?.[PREFERRED_HOLDER_ANNOTATION]).toBe('preferred');
      return lease;
    }

    /** After the preferred candidate went away: the holder still leads, and nothing asks it to yield. */
    async function preferenceTakenBack(plane: ControlPlane, key: LeaseKey) {
      await holderRenews(plane, key);
      await decideAndMirror(stack.deps, wiring, key);
      const { lease: stored } = await stack.deps.store.loadLease(key);
      expect(stored?.record).toMatchObject({ holderIdentity: 'holder', term: 1 });
      expect(stored?.record.preferredHolder).toBeUndefined();
      const lease = await leaseIn(plane, key.name);
      expect(specOf(lease).holderIdentity).toBe('holder');
      expect(specOf(lease).preferredHolder).toBeUndefined();
      expect(lease?.metadata?.annotations?.[PREFERRED_HOLDER_ANNOTATION]).toBeUndefined();
      expect(lease?.metadata?.annotations?.[TERM_ANNOTATION]).toBe('1');
    }

    it('gate on: its LeaseCandidate deleted, spec.preferredHolder and the annotation are cleared', async () => {
      const key = keyIn('alpha', 'withdrawn');
      let candidate: RawObject | undefined;
      const asked = await askedToYield(alpha, key, async () => {
        const created = await kube(
          alpha,
          'POST',
          CANDIDATES,
          leaseCandidate('preferred', key.name, { binary: '1.35.0', emulation: '1.34.0' }, Date.now()),
        );
        expect(created.status).toBe(201);
        candidate = created.json as RawObject;
        expect((await ingestCandidate(wiring, 'alpha', 'MODIFIED', candidate)).outcome).toBe('stored');
      });
      expect(specOf(asked).preferredHolder).toBe('preferred');

      expect((await kube(alpha, 'DELETE', `${CANDIDATES}/preferred`)).status).toBe(200);
      expect((await ingestCandidate(wiring, 'alpha', 'DELETED', candidate ?? {})).outcome).toBe('removed');

      await preferenceTakenBack(alpha, key);
    });

    it('gate off (preemption PreferredHolder): the annotation is cleared once the candidate is gone', async () => {
      const key = keyIn('bravo', 'withdrawn');
      const asked = await askedToYield(bravo, key, () => heartbeat('bravo', key, 'preferred', '1.34.0'));
      // The cluster drops the field: the annotation is all that carries the preference there.
      expect(specOf(asked).preferredHolder).toBeUndefined();

      const { candidates } = await stack.deps.store.loadLease(key);
      const preferred = candidates.find((c) => c.name === 'preferred');
      await stack.deps.store.removeCandidate(key, 'bravo', 'preferred', preferred?.sentRenewTime ?? 0);

      await preferenceTakenBack(bravo, key);
    });
  });
});
