import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { formatMicroTime } from '../../lib/api/time.js';
import { AgentProcess, adminConfig, awaitObject, HealthEndpoint } from '../../lib/harness/agent-process.js';
import { benchInTreeController, kube } from '../../lib/harness/kube-admin.js';
import { applyCrd } from '../../lib/kube-local/admin.js';
import { ensureKubeBinaries } from '../../lib/kube-local/build.js';
import { type ControlPlane, startControlPlane, writeKubeconfig } from '../../lib/kube-local/control-plane.js';
import { ensureLambdaNode } from '../../lib/local/packaged/lambda-node.js';
import { bundleAgent } from '../../scripts/bundle-agent.mjs';

/**
 * The candidate agent as it ships: the bundled dist file run with plain `node` against a real
 * kube-apiserver with the LeaseCandidate CRD applied. The cluster serves the built-in API too
 * (the gate is on), so the CRD tests force it with --api crd; one test lets the agent choose.
 */

const CRD = '/apis/coordination.lease-coordinator.dev/v1/namespaces/default/leasecandidates';
const BUILTIN = '/apis/coordination.k8s.io/v1beta1/namespaces/default/leasecandidates';

type Candidate = { metadata: { name: string }; spec: Record<string, unknown> };
const renewTime = (c: Candidate | undefined) =>
  typeof c?.spec.renewTime === 'string' ? Date.parse(c.spec.renewTime) : undefined;

describe('candidate agent (integration: the bundled agent, a real kube-apiserver, the CRD)', () => {
  let plane: ControlPlane;
  let admin: KubeConfig;
  let dir: string;
  let kubeconfig: string;
  let bundle: string;
  let health: HealthEndpoint;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    await ensureKubeBinaries();
    dir = mkdtempSync(join(tmpdir(), 'lease-coordinator-agent-'));
    [plane, bundle] = await Promise.all([startControlPlane('agent'), bundleAgent(join(dir, 'agent.mjs'))]);
    // The in-tree CLE controller would elect from built-in candidates of the lease; keep it out.
    await benchInTreeController(plane);
    kubeconfig = join(dir, 'admin.kubeconfig');
    writeKubeconfig(kubeconfig, [plane], 'admin');
    admin = adminConfig(kubeconfig);
    await applyCrd(plane);
    health = await HealthEndpoint.start();
  }, 3_600_000);

  afterEach(async () => {
    for (const agent of agents.splice(0)) await agent.kill();
    health.status = 200;
  });

  afterAll(async () => {
    await health?.stop();
    await plane?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  function start(identity: string, extra: readonly string[] = ['--api', 'crd'], node?: string): AgentProcess {
    const agent = new AgentProcess(
      bundle,
      [
        `--kubeconfig=${kubeconfig}`,
        '--namespace=default',
        '--lease=demo',
        `--identity=${identity}`,
        '--binary-version=1.31.0',
        '--emulation-version=1.30.0',
        `--health-url=${health.url}`,
        ...extra,
      ],
      node,
    );
    agents.push(agent);
    return agent;
  }

  const until = (collection: string, name: string, check: (c: Candidate | undefined) => boolean) =>
    awaitObject(admin, plane, collection, name, check as never) as Promise<Candidate | undefined>;

  async function ping(collection: string, name: string): Promise<number> {
    const pingTime = Date.now();
    const res = await kube(
      plane,
      'PATCH',
      `${collection}/${name}`,
      { spec: { pingTime: formatMicroTime(pingTime) } },
      'admin',
      'application/merge-patch+json',
    );
    expect(res.status).toBe(200);
    return pingTime;
  }

  it('creates its LeaseCandidate in the CRD with the flags as spec, and answers a ping at once', async () => {
    start('elector-0');
    const created = await until(CRD, 'elector-0', (c) => renewTime(c) !== undefined);
    expect(created?.spec).toMatchObject({
      leaseName: 'demo',
      binaryVersion: '1.31.0',
      emulationVersion: '1.30.0',
      strategy: 'OldestEmulationVersion',
    });
    // MicroTime with 6 digits, as client-go writes it.
    expect(created?.spec.renewTime).toMatch(/\.\d{6}Z$/);
    const pingTime = await ping(CRD, 'elector-0');
    // With the default 5-minute period, only the ping can move renewTime past it.
    const answered = await until(CRD, 'elector-0', (c) => (renewTime(c) ?? 0) >= pingTime);
    expect(renewTime(answered)).toBeGreaterThanOrEqual(pingTime);
  });

  it('runs on Node 22 too (the release the packaged functions run on, from npm): registers, answers a ping, warns of nothing', async () => {
    const agent = start('elector-node22', ['--api', 'crd'], await ensureLambdaNode('nodejs22.x'));
    await until(CRD, 'elector-node22', (c) => renewTime(c) !== undefined);
    const pingTime = await ping(CRD, 'elector-node22');
    const answered = await until(CRD, 'elector-node22', (c) => (renewTime(c) ?? 0) >= pingTime);
    expect(renewTime(answered)).toBeGreaterThanOrEqual(pingTime);
    // Node 22 warns of deprecated built-ins (DEP0040 punycode) that Node 20 accepts quietly.
    expect(agent.stderr.filter((line) => /Warning/.test(line))).toEqual([]);
  });

  it('renews on its own every period, with no ping', async () => {
    const agent = start('elector-period', ['--api', 'crd', '--renew-period', '1']);
    const first = renewTime(await until(CRD, 'elector-period', (c) => renewTime(c) !== undefined)) ?? 0;
    const later = await until(CRD, 'elector-period', (c) => (renewTime(c) ?? 0) > first);
    expect(renewTime(later)).toBeGreaterThan(first);
    expect(later?.spec.pingTime).toBeUndefined();
    const renewals = await agent.lineCount((l) => l.message === 'renewed', 1);
    expect(renewals[0]).toMatchObject({ reason: 'period' });
  });

  it('does not renew while the health URL fails, not even for a ping; resumes once it is healthy', async () => {
    const agent = start('elector-sick');
    const created = renewTime(await until(CRD, 'elector-sick', (c) => renewTime(c) !== undefined)) ?? 0;
    health.status = 500;
    const pingTime = await ping(CRD, 'elector-sick');
    // The agent saw the ping, asked the health URL, got 500 and said so; then it asked twice more
    // (once a second) without renewing and without repeating the line.
    const refusals = await agent.lineCount(
      (l) => l.message === 'not renewing: the program is unhealthy' && l.reason === 'ping',
      1,
    );
    expect(refusals[0]?.problem).toContain('answered 500');
    await health.moreRequests(2);
    const meanwhile = await kube(plane, 'GET', `${CRD}/elector-sick`);
    const stillOld = renewTime(meanwhile.json as unknown as Candidate) ?? 0;
    expect(stillOld).toBe(created);
    expect(stillOld).toBeLessThan(pingTime);
    health.status = 200;
    const answered = await until(CRD, 'elector-sick', (c) => (renewTime(c) ?? 0) >= pingTime);
    expect(renewTime(answered)).toBeGreaterThanOrEqual(pingTime);
    const [recovered] = await agent.lineCount((l) => l.message === 'the program is healthy again', 1);
    expect(recovered?.refused).toBeGreaterThanOrEqual(3);
  });

  it('does not register a program that is unhealthy from the start, and does once it is healthy', async () => {
    health.status = 503;
    const agent = start('elector-late');
    await agent.lineCount(
      (l) => l.message === 'not renewing: the program is unhealthy' && l.action === 'create',
      1,
    );
    await health.moreRequests(1);
    expect((await kube(plane, 'GET', `${CRD}/elector-late`)).status).toBe(404);
    health.status = 200;
    const created = await until(CRD, 'elector-late', (c) => c !== undefined);
    expect(created?.spec.leaseName).toBe('demo');
  });

  it('corrects a LeaseCandidate already there when it starts (a restart) instead of creating it twice', async () => {
    const old = {
      apiVersion: 'coordination.lease-coordinator.dev/v1',
      kind: 'LeaseCandidate',
      metadata: { name: 'elector-restarted', namespace: 'default' },
      spec: {
        leaseName: 'demo',
        binaryVersion: '1.31.0',
        emulationVersion: '1.29.0',
        strategy: 'OldestEmulationVersion',
        renewTime: formatMicroTime(Date.now() - 60_000),
      },
    };
    expect((await kube(plane, 'POST', CRD, old, 'admin')).status).toBe(201);
    const agent = start('elector-restarted');
    const corrected = await until(CRD, 'elector-restarted', (c) => c?.spec.emulationVersion === '1.30.0');
    expect(corrected?.spec.binaryVersion).toBe('1.31.0');
    const [renewed] = await agent.lineCount((l) => l.message === 'renewed', 1);
    expect(renewed).toMatchObject({ reason: 'spec' });
    expect(agent.lines.filter((l) => l.message === 'created')).toEqual([]);
  });

  it('creates its object again when something deletes it', async () => {
    start('elector-gc');
    await until(CRD, 'elector-gc', (c) => c !== undefined);
    expect((await kube(plane, 'DELETE', `${CRD}/elector-gc`)).status).toBe(200);
    const back = await until(CRD, 'elector-gc', (c) => c !== undefined);
    expect(back?.spec.binaryVersion).toBe('1.31.0');
  });

  it('on SIGTERM deletes its LeaseCandidate and exits 0', async () => {
    const agent = start('elector-leaving');
    await until(CRD, 'elector-leaving', (c) => c !== undefined);
    agent.signal('SIGTERM');
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    expect((await kube(plane, 'GET', `${CRD}/elector-leaving`)).status).toBe(404);
    expect(agent.lines.map((l) => l.message)).toContain('withdrew: deleted the LeaseCandidate');
    // A withdrawal is not an error: nothing at ERROR on the way out.
    expect(agent.lines.filter((l) => l.level === 'ERROR')).toEqual([]);
  });

  it('uses the built-in API where the cluster serves it, and withdraws from it on SIGINT', async () => {
    const agent = start('elector-builtin', []);
    const created = await until(BUILTIN, 'elector-builtin', (c) => renewTime(c) !== undefined);
    expect(created?.spec.strategy).toBe('OldestEmulationVersion');
    expect((await kube(plane, 'GET', `${CRD}/elector-builtin`)).status).toBe(404);
    const pingTime = await ping(BUILTIN, 'elector-builtin');
    await until(BUILTIN, 'elector-builtin', (c) => (renewTime(c) ?? 0) >= pingTime);
    agent.signal('SIGINT');
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    expect((await kube(plane, 'GET', `${BUILTIN}/elector-builtin`)).status).toBe(404);
  });

  it('the example sidecar manifest is accepted by the apiserver (server-side dry run)', async () => {
    expect(
      (await kube(plane, 'POST', '/api/v1/namespaces', { metadata: { name: 'my-system' } })).status,
    ).toBe(201);
    const collections: Record<string, string> = {
      ServiceAccount: '/api/v1/namespaces/my-system/serviceaccounts',
      Role: '/apis/rbac.authorization.k8s.io/v1/namespaces/my-system/roles',
      RoleBinding: '/apis/rbac.authorization.k8s.io/v1/namespaces/my-system/rolebindings',
      Deployment: '/apis/apps/v1/namespaces/my-system/deployments',
    };
    const docs = parseAllDocuments(
      readFileSync(new URL('../../infra/kubernetes/examples/agent-sidecar.yaml', import.meta.url), 'utf8'),
    ).map((d) => d.toJS() as { kind: string });
    expect(docs.map((d) => d.kind).sort()).toEqual([
      'Deployment',
      'Role',
      'RoleBinding',
      'RoleBinding',
      'ServiceAccount',
    ]);
    for (const doc of docs) {
      const res = await kube(
        plane,
        'POST',
        `${collections[doc.kind]}?dryRun=All&fieldValidation=Strict`,
        doc,
      );
      expect({ kind: doc.kind, status: res.status, message: res.json.message }).toEqual({
        kind: doc.kind,
        status: 201,
        message: undefined,
      });
    }
  });

  it.each([
    [['--lease=Bad_Name'], '--lease'],
    [['--binary-version=v1'], '--binary-version'],
    [['--health-url=ftp://127.0.0.1/'], '--health-url'],
    [['--renew-period=0'], '--renew-period'],
    [['--context=nowhere'], '--context'],
  ])('exits 2 on %j, naming the flag, and writes nothing', async (bad, flag) => {
    const agent = start('elector-bad', ['--api', 'crd', ...bad]);
    expect((await agent.exited).code).toBe(2);
    expect(agent.stderr.join('\n')).toContain(flag);
    expect((await kube(plane, 'GET', `${CRD}/elector-bad`)).status).toBe(404);
    expect((await kube(plane, 'GET', `${BUILTIN}/elector-bad`)).status).toBe(404);
  });
});
