import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import { TERM_ANNOTATION } from '../../lib/api/lease.js';
import { formatMicroTime } from '../../lib/api/time.js';
import { parseClustersConfig } from '../../lib/clusters/config.js';
import { type CandidateApiVersion, CRD_CANDIDATE_API } from '../../lib/election/types.js';
import { KubeCluster } from '../../lib/kube/cluster.js';
import { applyCrd, applyRbac, kube } from '../../lib/kube-local/admin.js';
import { ensureKubeBinaries } from '../../lib/kube-local/build.js';
import { type ControlPlane, startControlPlane, writeKubeconfig } from '../../lib/kube-local/control-plane.js';
import { type LocalClusters, startLocalClusters } from '../../lib/kube-local/local-clusters.js';
import { holderLeaseReader } from '../../lib/sync/holder-lease-reader.js';
import { settle, startTestStack, type TestStack } from '../helpers/local-stack.js';

/**
 * Clusters run as managed control planes run them (EKS, AKS, GKE outside alpha clusters): the
 * CoordinatedLeaderElection gate off, so no coordination.k8s.io LeaseCandidate is served. Three
 * real kube-apiservers: `npm run clusters -- up --gate mixed`'s two (cluster-a gate on, cluster-b
 * gate off with the LeaseCandidate CRD), and `bare`, gate off without the CRD at first.
 */

const BUILT_IN = '/apis/coordination.k8s.io/v1beta1/namespaces/default/leasecandidates';
const CRD = '/apis/coordination.lease-coordinator.dev/v1/namespaces/default/leasecandidates';
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/default/leases';

function crdCandidate(name: string, leaseName: string, renewTime: number) {
  return {
    apiVersion: CRD_CANDIDATE_API,
    kind: 'LeaseCandidate',
    metadata: { name, namespace: 'default' },
    spec: {
      leaseName,
      binaryVersion: '1.37.2',
      emulationVersion: '1.37.0',
      strategy: 'OldestEmulationVersion',
      renewTime: formatMicroTime(renewTime),
    },
  };
}

type Spec = Record<string, unknown>;

async function specOf(plane: ControlPlane, path: string): Promise<Spec | undefined> {
  const res = await kube(plane, 'GET', path);
  return res.status === 200 ? (res.json.spec as Spec) : undefined;
}

describe('managed clusters (integration: gate-off kube-apiservers, the LeaseCandidate CRD, DynamoDB Local)', () => {
  let local: LocalClusters;
  let a: ControlPlane;
  let b: ControlPlane;
  let bare: ControlPlane;
  let stack: TestStack;
  let warn: MockInstance;
  let error: MockInstance;
  const apis = new Map<string, (CandidateApiVersion | undefined)[]>();

  beforeAll(async () => {
    await ensureKubeBinaries();
    [local, bare] = await Promise.all([
      startLocalClusters({ count: 2, gate: 'mixed' }),
      startControlPlane('bare', { gate: 'off' }),
    ]);
    [a, b] = local.planes as [ControlPlane, ControlPlane];
    await applyRbac(bare);
    const dir = mkdtempSync(join(tmpdir(), 'lease-coordinator-managed-'));
    writeKubeconfig(join(dir, 'kubeconfig'), [a, b, bare], 'coordinator');
    const config = parseClustersConfig({
      clusters: [a, b, bare].map((p) => ({
        name: p.name,
        kubeconfig: { path: 'kubeconfig', context: p.name },
      })),
    });
    stack = await startTestStack({
      realClock: true,
      clusters: { config, configDir: dir },
      onCandidateApi: (cluster, api) => apis.set(cluster, [...(apis.get(cluster) ?? []), api]),
      // Asked again every 200 ms instead of every 10 s, so the late CRD below is seen at once.
      rediscoverEveryMs: 200,
    });
    warn = vi.spyOn(stack.deps.logger, 'warn');
    error = vi.spyOn(stack.deps.logger, 'error');
    stack.startIngest();
  }, 3_600_000);

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([local?.stop(), bare?.stop()]);
  });

  it('a candidate with only infra/kubernetes/candidate-rbac.yaml registers, renews and withdraws its CRD LeaseCandidate, and nothing more', async () => {
    // The binding in the file: service account lease-candidate in namespace default.
    const account = await kube(b, 'POST', '/api/v1/namespaces/default/serviceaccounts', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'lease-candidate', namespace: 'default' },
    });
    expect(account.status).toBe(201);
    const issued = await kube(b, 'POST', '/api/v1/namespaces/default/serviceaccounts/lease-candidate/token', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {},
    });
    expect(issued.status).toBe(201);
    const as = { token: String((issued.json.status as { token: string }).token) };
    const own = crdCandidate('sa-cand', 'sa-lease', Date.now());
    expect((await kube(b, 'POST', CRD, own, as)).status).toBe(201);
    expect(
      (await kube(b, 'GET', `${CRD}?watch=false&fieldSelector=metadata.name%3Dsa-cand`, undefined, as))
        .status,
    ).toBe(200);
    const renewed = { spec: { renewTime: formatMicroTime(Date.now()) } };
    expect(
      (await kube(b, 'PATCH', `${CRD}/sa-cand`, renewed, as, 'application/merge-patch+json')).status,
    ).toBe(200);
    expect((await kube(b, 'DELETE', `${CRD}/sa-cand`, undefined, as)).status).toBe(200);
    // Not in another namespace, and not the coordinator's Leases.
    const elsewhere = CRD.replace('/namespaces/default/', '/namespaces/kube-system/');
    expect(
      (await kube(b, 'POST', elsewhere, { ...own, metadata: { name: 'x', namespace: 'kube-system' } }, as))
        .status,
    ).toBe(403);
    expect((await kube(b, 'GET', LEASES, undefined, as)).status).toBe(403);
    // The same role covers the built-in API, where a cluster serves it.
    const review = await kube(b, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: 'system:serviceaccount:default:lease-candidate',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'],
        resourceAttributes: {
          group: 'coordination.k8s.io',
          resource: 'leasecandidates',
          verb: 'update',
          namespace: 'default',
        },
      },
    });
    expect((review.json.status as { allowed: boolean }).allowed).toBe(true);
  });

  it('the CRD refuses, naming the field, a candidate the coordinator would ignore', async () => {
    const noEmulation = crdCandidate('no-ev', 'refused', Date.now());
    noEmulation.spec.emulationVersion = '';
    const refused = await kube(b, 'POST', CRD, noEmulation);
    expect(refused.status).toBe(422);
    expect(JSON.stringify(refused.json)).toContain(
      'emulationVersion is required when strategy is OldestEmulationVersion',
    );
    const badVersion = crdCandidate('bad-bv', 'refused', Date.now());
    badVersion.spec.binaryVersion = 'v1.37';
    const invalid = await kube(b, 'POST', CRD, badVersion);
    expect(invalid.status).toBe(422);
    expect(JSON.stringify(invalid.json)).toContain('spec.binaryVersion');
  });

  it.each([
    ['a leaseName that is no Lease name', { leaseName: 'Kube_Scheduler' }, 'spec.leaseName'],
    ['a strategy the coordinator does not know', { strategy: 'NewestEmulationVersion' }, 'spec.strategy'],
    ['a third-party strategy with two slashes', { strategy: 'example.com/a/b' }, 'spec.strategy'],
  ])('the CRD refuses %s, naming the field', async (_, change, field) => {
    const object = crdCandidate('odd', 'refused', Date.now());
    const refused = await kube(b, 'POST', CRD, { ...object, spec: { ...object.spec, ...change } });
    expect(refused.status).toBe(422);
    expect(JSON.stringify(refused.json)).toContain(field);
  });

  it('the CRD accepts a third-party strategy as the built-in API does', async () => {
    const object = crdCandidate('third-party', 'third-party-lease', Date.now());
    const spec = { ...object.spec, strategy: 'example.com/My_Strategy.v2', emulationVersion: '' };
    expect((await kube(b, 'POST', CRD, { ...object, spec })).status).toBe(201);
    expect((await kube(b, 'DELETE', `${CRD}/third-party`)).status).toBe(200);
  });

  it('the CRD keeps leaseName immutable, as the built-in API does: a candidate moved to another lease is refused', async () => {
    const created = await kube(b, 'POST', CRD, crdCandidate('mover', 'first-lease', Date.now()));
    expect(created.status).toBe(201);
    const moved = await kube(
      b,
      'PATCH',
      `${CRD}/mover`,
      { spec: { leaseName: 'second-lease' } },
      'admin',
      'application/merge-patch+json',
    );
    expect(moved.status).toBe(422);
    expect(JSON.stringify(moved.json)).toContain('leaseName is immutable');
    expect((await specOf(b, `${CRD}/mover`))?.leaseName).toBe('first-lease');
    // A renewal, which leaves leaseName as it is, is still accepted.
    const renewed = await kube(
      b,
      'PATCH',
      `${CRD}/mover`,
      { spec: { renewTime: formatMicroTime(Date.now()) } },
      'admin',
      'application/merge-patch+json',
    );
    expect(renewed.status).toBe(200);
    expect((await kube(b, 'DELETE', `${CRD}/mover`)).status).toBe(200);
  });

  it('a gate-off apiserver serves no coordination.k8s.io LeaseCandidate and drops preferredHolder and strategy from Lease writes', async () => {
    const group = await kube(bare, 'GET', '/apis/coordination.k8s.io');
    expect((group.json.versions as { version: string }[]).map((v) => v.version)).toEqual(['v1']);
    expect((await kube(bare, 'POST', BUILT_IN, {})).status).toBe(404);
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'stripped', namespace: 'default' },
      spec: {
        holderIdentity: 'x',
        leaseDurationSeconds: 15,
        strategy: 'OldestEmulationVersion',
        preferredHolder: 'y',
      },
    };
    for (const plane of [bare, a]) expect((await kube(plane, 'POST', LEASES, lease)).status).toBe(201);
    expect(await specOf(bare, `${LEASES}/stripped`)).toEqual({
      holderIdentity: 'x',
      leaseDurationSeconds: 15,
    });
    // An update asking for them again loses them too, as the holder's own renewals do.
    const current = await kube(bare, 'GET', `${LEASES}/stripped`);
    expect(
      (await kube(bare, 'PUT', `${LEASES}/stripped`, { ...current.json, spec: lease.spec })).status,
    ).toBe(200);
    expect(await specOf(bare, `${LEASES}/stripped`)).toEqual({
      holderIdentity: 'x',
      leaseDurationSeconds: 15,
    });
    // The control: with the gate on, the same write keeps both.
    expect(await specOf(a, `${LEASES}/stripped`)).toMatchObject({
      preferredHolder: 'y',
      strategy: 'OldestEmulationVersion',
    });
  });

  it('managedFields tell a renewTime we wrote from the holder’s, where the stamps alone cannot', async () => {
    const ours = new KubeCluster(bare.name, {
      name: bare.name,
      server: new URL(bare.server),
      tls: { ca: Buffer.from(bare.caData), rejectUnauthorized: true },
      token: async () => bare.coordinatorToken,
    });
    const key = { scope: bare.name, namespace: 'default', name: 'written-by' };
    const read = () => holderLeaseReader({ get: async () => ours })(bare.name, key);
    const path = `${LEASES}/written-by`;
    /** A write as client-go's elector sends it: an update under the program's own field manager. */
    const holderWrites = async (spec: Spec) => {
      const current = await kube(bare, 'GET', path);
      const body = { ...current.json, spec: { ...(current.json.spec as Spec), ...spec } };
      expect((await kube(bare, 'PUT', `${path}?fieldManager=kube-scheduler`, body)).status).toBe(200);
    };
    const stamp = (ms: number) => formatMicroTime(Date.UTC(2026, 11, 6, 12, 0, 0, ms));

    const created = await ours.createLease({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'written-by', namespace: 'default' },
      spec: { holderIdentity: 'sched-a', leaseDurationSeconds: 15, renewTime: stamp(0) },
    });
    expect(created.ok).toBe(true);
    expect(await read()).toMatchObject({ holderIdentity: 'sched-a', renewTimeOurs: true });

    await holderWrites({ renewTime: stamp(2_000) });
    expect(await read()).toMatchObject({ renewTimeOurs: false });

    // Our write that leaves renewTime as it is (an annotation) leaves it the holder's.
    const patched = await ours.patchLease({ namespace: 'default', name: 'written-by' }, [
      { op: 'add', path: '/metadata/annotations', value: { [TERM_ANNOTATION]: '3' } },
    ]);
    expect(patched.ok).toBe(true);
    expect(await read()).toMatchObject({ renewTimeOurs: false });

    const current = await kube(bare, 'GET', path);
    const replaced = await ours.replaceLease({
      ...current.json,
      spec: { ...(current.json.spec as Spec), renewTime: stamp(4_000) },
    });
    expect(replaced.ok).toBe(true);
    expect(await read()).toMatchObject({ renewTimeOurs: true });

    // A holder's write that leaves our stamp as it is owns only what it changed: renewTime stays ours
    // (confirm-takeover.ts reads such a write as the holder's by its lease duration).
    await holderWrites({ renewTime: stamp(4_000), leaseDurationSeconds: 5 });
    expect(await read()).toMatchObject({ leaseDurationSeconds: 5, renewTimeOurs: true });

    // A holder's JSON patch takes it back, as its update does.
    const patch = [{ op: 'replace', path: '/spec/renewTime', value: stamp(6_000) }];
    const byPatch = await kube(
      bare,
      'PATCH',
      `${path}?fieldManager=kube-scheduler`,
      patch,
      'admin',
      'application/json-patch+json',
    );
    expect(byPatch.status).toBe(200);
    expect(await read()).toMatchObject({ renewTimeOurs: false });

    // A write that names no manager and sends no User-Agent, as our versions before this one wrote:
    // recorded as `unknown`, which says nothing (the stamps decide, as they did).
    const unnamed = await kube(bare, 'GET', path);
    const body = { ...unnamed.json, spec: { ...(unnamed.json.spec as Spec), renewTime: stamp(8_000) } };
    expect((await kube(bare, 'PUT', path, body)).status).toBe(200);
    const seen = await read();
    expect(seen).toMatchObject({ holderIdentity: 'sched-a' });
    expect(seen).not.toHaveProperty('renewTimeOurs');
  });

  it('`npm run clusters -- up --gate mixed` starts what it says: cluster-a gate on with the built-in API, cluster-b gate off with the CRD', async () => {
    expect([a.gate, b.gate]).toEqual(['on', 'off']);
    expect(local.lines[0]).toMatch(
      /^cluster-a +https:\/\/127\.0\.0\.1:\d+ {2}gate on {3}LeaseCandidate APIs: coordination\.k8s\.io\/v1beta1, coordination\.k8s\.io\/v1alpha2; ingest reads coordination\.k8s\.io\/v1beta1$/,
    );
    expect(local.lines[1]).toMatch(
      /^cluster-b +https:\/\/127\.0\.0\.1:\d+ {2}gate off {2}LeaseCandidate APIs: coordination\.lease-coordinator\.dev\/v1; ingest reads coordination\.lease-coordinator\.dev\/v1$/,
    );
    // What each serves, asked independently, with the coordinator's own RBAC.
    const status = async (plane: ControlPlane, path: string) =>
      (await kube(plane, 'GET', path, undefined, 'coordinator')).status;
    expect(await status(a, BUILT_IN)).toBe(200);
    expect(await status(a, CRD)).toBe(404);
    expect(await status(b, BUILT_IN)).toBe(404);
    expect(await status(b, CRD)).toBe(200);
    // The in-tree controller runs only with the gate on; it is kept from leading there.
    expect(
      await specOf(
        a,
        '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/leader-election-controller',
      ),
    ).toMatchObject({
      holderIdentity: 'lease-coordinator-holds-this',
    });
    expect(apis.get('cluster-a')).toEqual(['v1beta1']);
    expect(apis.get('cluster-b')).toEqual([CRD_CANDIDATE_API]);
  });

  it('ingest in a gate-off cluster stores a CRD LeaseCandidate and elects it', async () => {
    expect((await kube(b, 'POST', CRD, crdCandidate('crd-fresh', 'managed', Date.now()))).status).toBe(201);
    await settle(stack, async () => (await specOf(b, `${LEASES}/managed`))?.holderIdentity === 'crd-fresh');
    const { candidates, lease } = await stack.deps.store.loadLease({
      scope: 'cluster-b',
      namespace: 'default',
      name: 'managed',
    });
    // The apiVersion round-trips through DynamoDB Local: pings and GC go to the CRD by it.
    expect(candidates.map((c) => [c.name, c.apiVersion])).toEqual([['crd-fresh', CRD_CANDIDATE_API]]);
    expect(lease?.record.holderIdentity).toBe('crd-fresh');
  });

  it('a ping sets pingTime on the CRD object', async () => {
    // Silent for a minute: the vote asks it to renew first.
    const created = await kube(b, 'POST', CRD, crdCandidate('crd-stale', 'pinged', Date.now() - 60_000));
    expect(created.status).toBe(201);
    await settle(stack, async () => (await specOf(b, `${CRD}/crd-stale`))?.pingTime !== undefined);
    const spec = (await specOf(b, `${CRD}/crd-stale`)) as Spec;
    expect(Date.parse(String(spec.pingTime))).toBeGreaterThan(Date.parse(String(spec.renewTime)));
  });

  it('warns once about a cluster that serves neither LeaseCandidate API, naming it and the CRD to apply', () => {
    const warnings = warn.mock.calls
      .map(([message]) => String(message))
      .filter((m) => m.includes('serves no LeaseCandidate API'));
    expect(warnings).toEqual([
      'cluster bare serves no LeaseCandidate API (the CoordinatedLeaderElection gate is off and the CRD is not installed): its candidates cannot register; apply infra/kubernetes/leasecandidate-crd.yaml there',
    ]);
    expect(apis.get('bare')).toEqual([undefined]);
  });

  it('picks up the CRD applied after ingest started, without a restart', async () => {
    await applyCrd(bare);
    expect((await kube(bare, 'POST', CRD, crdCandidate('late', 'late', Date.now()))).status).toBe(201);
    await settle(stack, async () => (await specOf(bare, `${LEASES}/late`))?.holderIdentity === 'late');
    expect(apis.get('bare')).toEqual([undefined, CRD_CANDIDATE_API]);
    const { candidates } = await stack.deps.store.loadLease({
      scope: 'bare',
      namespace: 'default',
      name: 'late',
    });
    expect(candidates.map((c) => c.apiVersion)).toEqual([CRD_CANDIDATE_API]);
  });

  it('a ping to a candidate whose object is gone removes it from the table, without an error', async () => {
    const key = { scope: 'cluster-b', namespace: 'default', name: 'phantom' };
    const debug = vi.spyOn(stack.deps.logger, 'debug');
    const info = vi.spyOn(stack.deps.logger, 'info');
    // Stored as ingest stores a CRD candidate, whose object is gone before ingest heard of it.
    await stack.deps.store.putHeartbeat(
      key,
      'cluster-b',
      {
        apiVersion: CRD_CANDIDATE_API,
        name: 'phantom',
        namespace: 'default',
        leaseName: 'phantom',
        binaryVersion: '1.37.2',
        emulationVersion: '1.37.0',
        strategy: 'OldestEmulationVersion',
        renewTime: Date.now() - 60_000,
        resourceVersion: '1',
      },
      Date.now(),
    );
    await settle(stack, async () =>
      (await stack.deps.store.loadLease(key)).candidates.every((c) => c.name !== 'phantom'),
    );
    expect(info).toHaveBeenCalledWith(
      'candidate deleted before its ping; removed',
      expect.objectContaining({ cluster: 'cluster-b', candidates: ['phantom'] }),
    );
    expect(error.mock.calls.filter(([, fields]) => fields?.candidate === 'phantom')).toEqual([]);
    const passes = debug.mock.calls
      .filter(([message]) => message === 'mirrored')
      .map(([, fields]) => fields as { lease: { name: string }; pinged: string[]; pingsGone: string[] })
      .filter((fields) => fields.lease.name === 'phantom');
    expect(passes.some((p) => p.pingsGone.includes('phantom'))).toBe(true);
    expect(passes.every((p) => !p.pinged.includes('phantom'))).toBe(true);
  });

  it('a real apiserver’s 404 tells a missing LeaseCandidate (NotFound) from an API it does not serve (NotServed)', async () => {
    const client = (plane: ControlPlane) =>
      new KubeCluster(plane.name, {
        name: plane.name,
        server: new URL(plane.server),
        tls: { ca: Buffer.from(plane.caData), rejectUnauthorized: true },
        token: async () => plane.coordinatorToken,
      });
    const ref = { namespace: 'default', name: 'never-created' };
    const at = formatMicroTime(Date.now());
    // cluster-b: gate off, the CRD installed; cluster-a: gate on, no CRD.
    expect(await client(b).pingCandidate(CRD_CANDIDATE_API, ref, at)).toEqual({
      ok: false,
      reason: 'NotFound',
    });
    expect(await client(b).pingCandidate('v1beta1', ref, at)).toEqual({
      ok: false,
      reason: 'NotServed',
    });
    expect(await client(a).pingCandidate('v1beta1', ref, at)).toEqual({
      ok: false,
      reason: 'NotFound',
    });
    expect(await client(a).pingCandidate(CRD_CANDIDATE_API, ref, at)).toEqual({
      ok: false,
      reason: 'NotServed',
    });
  });
});
