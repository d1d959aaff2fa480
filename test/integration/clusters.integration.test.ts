import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FENCED_HOLDER, REVOKED_HOLDER, TERM_ANNOTATION } from '../../lib/api/lease.js';
import { formatMicroTime } from '../../lib/api/time.js';
import { parseClustersConfig } from '../../lib/clusters/config.js';
import { kube, leaseCandidate } from '../../lib/harness/kube-admin.js';
import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import { holderLeaseFence } from '../../lib/sync/holder-lease-reader.js';
import { startCoordinatorPlanes } from '../helpers/coordinator-planes.js';
import { candidate, settle, startTestStack, type TestStack } from '../helpers/local-stack.js';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/default/leases';
const CANDIDATES = '/apis/coordination.k8s.io/v1beta1/namespaces/default/leasecandidates';
const GROUP = { scope: 'alpha+beta', namespace: 'default', name: 'grouped' };
/** Alpha's HTTP caller: a candidate that heartbeats over the API instead of a LeaseCandidate. */
const ALPHA_TOKEN = 'alpha-http-candidates';

type Lease = {
  metadata: { annotations?: Record<string, string>; resourceVersion: string };
  spec: Record<string, unknown>;
};

async function leaseIn(plane: ControlPlane, name: string): Promise<Lease | undefined> {
  const res = await kube(plane, 'GET', `${LEASES}/${name}`);
  return res.status === 200 ? (res.json as unknown as Lease) : undefined;
}

describe('clusters (integration: two kube-apiservers + etcd built from Go modules, DynamoDB Local)', () => {
  let alpha: ControlPlane;
  let beta: ControlPlane;
  let stack: TestStack;

  beforeAll(async () => {
    const started = await startCoordinatorPlanes(['alpha', 'beta']);
    [alpha, beta] = started.planes;
    const dir = started.configDir;
    const config = parseClustersConfig({
      clusters: [
        {
          name: 'alpha',
          kubeconfig: { path: 'kubeconfig', context: 'alpha' },
          httpCallers: { tokenSha256: [createHash('sha256').update(ALPHA_TOKEN).digest('hex')] },
        },
        { name: 'beta', kubeconfig: { path: 'kubeconfig', context: 'beta' } },
      ],
      leaseGroups: [{ namespace: 'default', name: 'grouped', clusters: ['alpha', 'beta'] }],
    });
    stack = await startTestStack({ realClock: true, clusters: { config, configDir: dir } });
    stack.startIngest();
  }, 3_600_000);

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([alpha?.stop(), beta?.stop()]);
  });

  it('runs the coordinator with only the RBAC in infra/kubernetes/rbac.yaml', async () => {
    expect(
      (
        await kube(
          alpha,
          'GET',
          '/apis/coordination.k8s.io/v1beta1/leasecandidates',
          undefined,
          'coordinator',
        )
      ).status,
    ).toBe(200);
    expect((await kube(alpha, 'GET', '/api/v1/secrets', undefined, 'coordinator')).status).toBe(403);
    expect((await kube(alpha, 'DELETE', `${LEASES}/anything`, undefined, 'coordinator')).status).toBe(403);
  });

  it('elects inside one cluster the upstream way and writes the Lease there', async () => {
    const now = Date.now();
    expect(
      (
        await kube(
          alpha,
          'POST',
          CANDIDATES,
          leaseCandidate('solo-a', 'solo', { binary: '1.20.0', emulation: '1.20.0' }, now),
        )
      ).status,
    ).toBe(201);
    expect(
      (
        await kube(
          alpha,
          'POST',
          CANDIDATES,
          leaseCandidate('solo-b', 'solo', { binary: '1.20.0', emulation: '1.19.0' }, now),
        )
      ).status,
    ).toBe(201);
    // solo-b wins: elected at once if both arrive together, or preferred over a live solo-a if
    // solo-a's heartbeat was stored first (then the holder yields, which no process does here).
    await settle(stack, async () => {
      const lease = await leaseIn(alpha, 'solo');
      const won = lease?.spec.holderIdentity === 'solo-b' || lease?.spec.preferredHolder === 'solo-b';
      return won && lease?.metadata.annotations?.['lease-coordinator.dev/term'] !== undefined;
    });
    const lease = (await leaseIn(alpha, 'solo')) as Lease;
    expect(lease.spec.strategy).toBe('OldestEmulationVersion');
    expect(lease.spec.leaseDurationSeconds).toBeGreaterThan(0);
    expect(String(lease.spec.renewTime)).toMatch(/\.\d{6}Z$/);
    expect(Number(lease.metadata.annotations?.['lease-coordinator.dev/term'])).toBeGreaterThanOrEqual(1);
    // Ungrouped: the other cluster has no copy.
    expect(await leaseIn(beta, 'solo')).toBeUndefined();
  });

  it('elects across a lease group and mirrors the decision into every cluster of it', async () => {
    const now = Date.now();
    // The better candidate first: ingest decides a lease as soon as a candidate arrives, so with
    // both at once the worse one could be elected first and only preempted (nobody here yields).
    await kube(
      beta,
      'POST',
      CANDIDATES,
      leaseCandidate('group-b', 'grouped', { binary: '1.20.0', emulation: '1.19.0' }, now),
    );
    await settle(stack, async () => (await leaseIn(beta, 'grouped'))?.spec.holderIdentity === 'group-b');
    await kube(
      alpha,
      'POST',
      CANDIDATES,
      leaseCandidate('group-a', 'grouped', { binary: '1.20.0', emulation: '1.20.0' }, now),
    );
    await settle(stack, async () => {
      const [a, b] = await Promise.all([leaseIn(alpha, 'grouped'), leaseIn(beta, 'grouped')]);
      const { candidates } = await stack.deps.store.loadLease(GROUP);
      return (
        candidates.length === 2 &&
        a?.spec.holderIdentity === 'group-b' &&
        b?.spec.holderIdentity === 'group-b'
      );
    });
    const { lease } = await stack.deps.store.loadLease(GROUP);
    expect(lease?.record.holderCluster).toBe('beta');
    for (const plane of [alpha, beta]) {
      expect((await leaseIn(plane, 'grouped'))?.metadata.annotations?.['lease-coordinator.dev/term']).toBe(
        '1',
      );
    }
  });

  it('records a Lease a legacy elector holds before the first decision, for a candidate heard only over HTTP', async () => {
    const lease = (name: string, holder: string, term?: number, leaseDurationSeconds = 60) => ({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name,
        namespace: 'kube-system',
        ...(term !== undefined && { annotations: { 'lease-coordinator.dev/term': String(term) } }),
      },
      spec: { holderIdentity: holder, leaseDurationSeconds, renewTime: formatMicroTime(Date.now()) },
    });
    const heartbeat = async (leaseName: string, expected = 201) => {
      const response = await fetch(`${stack.url}/clusters/alpha/leasecandidates`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ALPHA_TOKEN}` },
        body: JSON.stringify(
          candidate('http-cand', { binary: '1.20.0', emulation: '1.19.0' }, Date.now(), { leaseName }),
        ),
      });
      expect(response.status).toBe(expected);
    };
    const kubeSystemLease = async (name: string) => {
      const res = await kube(
        alpha,
        'GET',
        `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${name}`,
      );
      return res.status === 200 ? (res.json as unknown as Lease) : undefined;
    };
    const kubeSystem = '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases';
    const record = (name: string) =>
      stack.deps.store.loadLease({ scope: 'alpha', namespace: 'kube-system', name });
    // A legacy elector leads; a Lease left under term 7 by a table since lost; and one where that
    // table's last decision revoked its holder (2 s leases), just now.
    expect((await kube(alpha, 'POST', kubeSystem, lease('legacy-held', 'legacy-1'))).status).toBe(201);
    expect((await kube(alpha, 'POST', kubeSystem, lease('lost-table', '', 7))).status).toBe(201);
    const revoked = lease('lost-revoke', REVOKED_HOLDER, 7, 2);
    expect((await kube(alpha, 'POST', kubeSystem, revoked)).status).toBe(201);

    await heartbeat('legacy-held');
    await heartbeat('lost-table');
    await heartbeat('lost-revoke');
    await settle(stack, async () => {
      const [held, lost] = await Promise.all([kubeSystemLease('legacy-held'), kubeSystemLease('lost-table')]);
      return held?.spec.preferredHolder === 'http-cand' && lost?.spec.holderIdentity === 'http-cand';
    });
    // The revoke is recorded as held, under its term: nobody is named while the holder it took off may lead.
    expect((await record('lost-revoke')).lease?.record).toMatchObject({
      holderIdentity: REVOKED_HOLDER,
      term: 7,
    });
    // This stack's timers fire when the test says (each when its time has come); http-cand
    // heartbeats before each, as an HTTP candidate answering pings does.
    for (
      let round = 0;
      round < 10 && (await kubeSystemLease('lost-revoke'))?.spec.holderIdentity !== 'http-cand';
      round++
    ) {
      const due = stack.timers.nextDueAt();
      expect(due).toBeDefined();
      await delay(Math.max(0, (due as number) - Date.now()));
      await heartbeat('lost-revoke', 200);
      await stack.timers.fireDue(Date.now());
      await stack.streams.drain();
      await stack.mirror.drain();
    }
    // The live legacy holder was asked to yield, not overwritten.
    const held = await kubeSystemLease('legacy-held');
    expect(held?.spec.holderIdentity).toBe('legacy-1');
    expect((await record('legacy-held')).lease?.record).toMatchObject({
      holderIdentity: 'legacy-1',
      preferredHolder: 'http-cand',
      term: 1,
    });
    // The first decision went above the term the Lease showed, so it reached the cluster.
    expect((await kubeSystemLease('lost-table'))?.metadata.annotations?.['lease-coordinator.dev/term']).toBe(
      '8',
    );
    expect((await record('lost-table')).lease?.record).toMatchObject({
      holderIdentity: 'http-cand',
      term: 8,
    });
    // The revoke was recorded as held, so its holder's lease duration passed before the successor
    // was named (the holder it took off may lead until then), and then above its term.
    const successor = (await record('lost-revoke')).lease?.record;
    expect(successor).toMatchObject({ holderIdentity: 'http-cand', term: 8 });
    expect(successor?.renewTime).toBeGreaterThan(Date.parse(revoked.spec.renewTime) + 2_000);
    expect((await kubeSystemLease('lost-revoke'))?.metadata.annotations?.['lease-coordinator.dev/term']).toBe(
      '8',
    );
  });

  it('leaves node heartbeats and apiserver identity leases out of the Leases ingest lists and watches', async () => {
    const nodeLease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'node-1', namespace: 'kube-node-lease' },
      spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40, renewTime: formatMicroTime(Date.now()) },
    };
    expect(
      (await kube(alpha, 'POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', nodeLease))
        .status,
    ).toBe(201);
    const all = (await kube(alpha, 'GET', '/apis/coordination.k8s.io/v1/leases')).json as {
      items: { metadata: { namespace: string; labels?: Record<string, string> } }[];
    };
    const identity = (l: (typeof all.items)[number]) =>
      l.metadata.labels?.['apiserver.kubernetes.io/identity'];
    // Both kinds are there to be left out: the apiserver keeps its own identity lease.
    expect(all.items.some((l) => l.metadata.namespace === 'kube-node-lease')).toBe(true);
    expect(all.items.some((l) => identity(l) !== undefined)).toBe(true);

    const client = await stack.registry?.get('alpha');
    if (client === undefined) throw new Error('no client for alpha');
    const list = await client.listLeases();
    const listed = list.items;
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.filter((l) => l.metadata?.namespace === 'kube-node-lease')).toEqual([]);
    expect(listed.filter((l) => identity(l as (typeof all.items)[number]) !== undefined)).toEqual([]);
    expect(listed.length).toBe(
      all.items.filter((l) => l.metadata.namespace !== 'kube-node-lease' && identity(l) === undefined).length,
    );

    // The watch too: the node renews, then a Lease that could be ours appears. Events come in
    // resourceVersion order, so by the time the second arrives the first would have come.
    const seen: string[] = [];
    let arrived: () => void = () => {};
    const ours = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const watch = await client.watch(
      'leases',
      'v1',
      list.resourceVersion,
      (phase, object) => {
        if (phase === 'BOOKMARK') return;
        seen.push(`${object.metadata?.namespace}/${object.metadata?.name}`);
        if (object.metadata?.name === 'after-node-renewal') arrived();
      },
      () => {},
    );
    try {
      const nodePath = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1';
      const renewal = { spec: { renewTime: formatMicroTime(Date.now()) } };
      expect(
        (await kube(alpha, 'PATCH', nodePath, renewal, 'admin', 'application/merge-patch+json')).status,
      ).toBe(200);
      const after = { ...nodeLease, metadata: { name: 'after-node-renewal', namespace: 'default' } };
      expect((await kube(alpha, 'POST', LEASES, after)).status).toBe(201);
      await ours;
    } finally {
      watch.abort();
    }
    expect(seen).toContain('default/after-node-renewal');
    expect(seen.filter((name) => name.startsWith('kube-node-lease/'))).toEqual([]);
  });

  it('repairs a mirrored Lease changed by hand', async () => {
    const drifted = (await leaseIn(alpha, 'grouped')) as Lease;
    const res = await kube(alpha, 'PUT', `${LEASES}/grouped`, {
      ...drifted,
      spec: { ...drifted.spec, holderIdentity: 'intruder' },
    });
    expect(res.status).toBe(200);
    await settle(stack, async () => (await leaseIn(alpha, 'grouped'))?.spec.holderIdentity === 'group-b');
  });

  it('answers a stale resourceVersion with a typed 409 Conflict, and a second create with AlreadyExists', async () => {
    const client = await stack.registry?.get('alpha');
    const current = (await client?.readLease({ namespace: 'default', name: 'solo' })) as Lease &
      Record<string, unknown>;
    const stale = { ...current, metadata: { ...current.metadata, resourceVersion: '1' } };
    expect(await client?.replaceLease(stale)).toEqual({ ok: false, reason: 'Conflict' });
    expect(
      await client?.createLease({ ...current, metadata: { name: 'solo', namespace: 'default' } }),
    ).toEqual({
      ok: false,
      reason: 'AlreadyExists',
    });
  });

  /** alpha's Lease `name` as a fence leaves it: our placeholder, 7 s, stamped `at`, under our term `term`. */
  async function expectFenced(name: string, at: number, term: string) {
    const fenced = (await leaseIn(alpha, name)) as Lease;
    expect(fenced.spec).toMatchObject({
      holderIdentity: FENCED_HOLDER,
      leaseDurationSeconds: 7,
      renewTime: formatMicroTime(at),
    });
    expect(fenced.metadata.annotations?.[TERM_ANNOTATION]).toBe(term);
  }

  it('takes a holder off its Lease only while the Lease is as read: a JSON Patch test of the resourceVersion', async () => {
    const registry = stack.registry;
    if (registry === undefined) throw new Error('the stack registers clusters');
    const fence = holderLeaseFence(registry);
    const key = { scope: 'alpha', namespace: 'default', name: 'fence-probe' };
    const created = await kube(alpha, 'POST', LEASES, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: key.name, annotations: { [TERM_ANNOTATION]: '3' } },
      spec: { holderIdentity: 'x', leaseDurationSeconds: 15, renewTime: formatMicroTime(Date.now()) },
    });
    expect(created.status).toBe(201);
    const read = (await leaseIn(alpha, key.name)) as Lease;
    // The holder renews after that read.
    const renewal = { ...read, spec: { ...read.spec, renewTime: formatMicroTime(Date.now() + 1) } };
    expect((await kube(alpha, 'PUT', `${LEASES}/${key.name}`, renewal)).status).toBe(200);

    expect(
      await fence('alpha', key, {
        resourceVersion: read.metadata.resourceVersion,
        at: Date.now(),
        leaseDurationSeconds: 7,
      }),
    ).toBe(false);
    const renewed = (await leaseIn(alpha, key.name)) as Lease;
    expect(renewed.spec.holderIdentity).toBe('x');

    const at = Date.now();
    expect(
      await fence('alpha', key, {
        resourceVersion: renewed.metadata.resourceVersion,
        term: 4,
        at,
        leaseDurationSeconds: 7,
      }),
    ).toBe(true);
    await expectFenced(key.name, at, '4');
  });

  it('touches our revoke rather than replacing it: holder and stamp stay, acquireTime moves to a later second', async () => {
    const registry = stack.registry;
    if (registry === undefined) throw new Error('the stack registers clusters');
    const fence = holderLeaseFence(registry);
    const key = { scope: 'alpha', namespace: 'default', name: 'fence-revoke-probe' };
    const stamp = formatMicroTime(Date.now() - 6_000);
    const created = await kube(alpha, 'POST', LEASES, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: key.name, annotations: { [TERM_ANNOTATION]: '2' } },
      spec: { holderIdentity: REVOKED_HOLDER, leaseDurationSeconds: 5, acquireTime: stamp, renewTime: stamp },
    });
    expect(created.status).toBe(201);
    const { resourceVersion } = (created.json.metadata ?? {}) as { resourceVersion: string };
    const at = Date.now();
    expect(await fence('alpha', key, { resourceVersion, at, revoke: true })).toBe(true);
    const touched = (await leaseIn(alpha, key.name)) as Lease;
    expect(touched.spec).toMatchObject({
      holderIdentity: REVOKED_HOLDER,
      renewTime: stamp,
      acquireTime: formatMicroTime(at),
    });
    expect(touched.metadata.annotations?.[TERM_ANNOTATION]).toBe('2');
    // A write since the read fails it, as any fence.
    expect(await fence('alpha', key, { resourceVersion, at, revoke: true })).toBe(false);
  });

  it('fences a Lease read absent by creating it fenced, and fails once anyone has created it', async () => {
    const registry = stack.registry;
    if (registry === undefined) throw new Error('the stack registers clusters');
    const fence = holderLeaseFence(registry);
    const key = { scope: 'alpha', namespace: 'default', name: 'fence-absent-probe' };
    const at = Date.now();
    expect(await fence('alpha', key, { term: 5, at, leaseDurationSeconds: 7 })).toBe(true);
    await expectFenced(key.name, at, '5');
    // Read absent before that create: the fence finds it there now and fails, changing nothing.
    expect(await fence('alpha', key, { term: 6, at: at + 1, leaseDurationSeconds: 7 })).toBe(false);
    expect(((await leaseIn(alpha, key.name)) as Lease).metadata.annotations?.[TERM_ANNOTATION]).toBe('5');
  });

  it('keeps mirroring to a cluster that is up while another is down, and catches the other up when it returns', async () => {
    await beta.stopApiserver();
    const { lease } = await stack.deps.store.loadLease(GROUP);
    if (lease === undefined) throw new Error('no decision for the group');
    // A new decision lands while beta is away (as a preemption would: only preferredHolder changes).
    await stack.deps.store.writeLease(
      GROUP,
      { ...lease.record, preferredHolder: 'group-a' },
      lease.version,
      Date.now(),
    );
    await settle(stack, async () => (await leaseIn(alpha, 'grouped'))?.spec.preferredHolder === 'group-a');
    await beta.startApiserver();
    await settle(stack, async () => (await leaseIn(beta, 'grouped'))?.spec.preferredHolder === 'group-a');
  });

  it('deletes a candidate that has not renewed for 30 minutes from its cluster', async () => {
    const twoHoursAgo = Date.now() - 2 * 3_600_000;
    await kube(
      alpha,
      'POST',
      CANDIDATES,
      leaseCandidate('stale', 'solo', { binary: '1.20.0', emulation: '1.20.0' }, twoHoursAgo),
    );
    await settle(stack, async () =>
      (
        await stack.deps.store.loadLease({ scope: 'alpha', namespace: 'default', name: 'solo' })
      ).candidates.some((c) => c.name === 'stale'),
    );
    await stack.sweep();
    expect((await kube(alpha, 'GET', `${CANDIDATES}/stale`)).status).toBe(404);
    const { candidates } = await stack.deps.store.loadLease({
      scope: 'alpha',
      namespace: 'default',
      name: 'solo',
    });
    expect(candidates.map((c) => c.name)).not.toContain('stale');
  });
});
