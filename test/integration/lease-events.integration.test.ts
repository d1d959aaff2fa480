import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClustersConfig } from '../../lib/clusters/config.js';
import { kube } from '../../lib/harness/kube-admin.js';
import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import { startCoordinatorPlanes } from '../helpers/coordinator-planes.js';
import { candidate, startTestStack, type TestStack } from '../helpers/local-stack.js';

const NAMESPACE = 'kube-system';
const LEASE = 'evented';
const TOKEN = 'evented-http-candidates';

interface CoreEvent {
  reason: string;
  message: string;
  type: string;
  involvedObject: { kind: string; name: string; uid?: string };
  reportingComponent?: string;
}

/**
 * The events `kubectl describe lease` lists: core v1 Events whose involvedObject is this Lease,
 * selected by kind, name, namespace and uid as kubectl selects them.
 */
async function describedEvents(plane: ControlPlane): Promise<CoreEvent[]> {
  const lease = await kube(
    plane,
    'GET',
    `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/${LEASE}`,
  );
  const uid = (lease.json.metadata as { uid: string }).uid;
  const selector = [
    'involvedObject.kind=Lease',
    `involvedObject.name=${LEASE}`,
    `involvedObject.namespace=${NAMESPACE}`,
    `involvedObject.uid=${uid}`,
  ].join(',');
  const listed = await kube(
    plane,
    'GET',
    `/api/v1/namespaces/${NAMESPACE}/events?fieldSelector=${encodeURIComponent(selector)}`,
  );
  expect(listed.status).toBe(200);
  return listed.json.items as unknown as CoreEvent[];
}

describe('Events on mirrored Leases (integration: two kube-apiservers + etcd, DynamoDB Local)', () => {
  let alpha: ControlPlane;
  let beta: ControlPlane;
  let stack: TestStack;

  /** A candidate heard over HTTP (no ingest runs: decisions come from the drained streams alone). */
  const heartbeat = async (cluster: string, name: string, emulation: string) => {
    const response = await fetch(`${stack.url}/clusters/${cluster}/leasecandidates`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(
        candidate(name, { binary: '1.34.0', emulation }, Date.now(), { leaseName: LEASE }),
      ),
    });
    expect(response.status).toBeLessThan(300);
  };
  /** Every decision taken and mirrored, Events included (the mirror awaits them). */
  const decideAndMirror = async () => {
    await stack.streams.drain();
    await stack.mirror.drain();
  };

  beforeAll(async () => {
    const started = await startCoordinatorPlanes(['alpha', 'beta']);
    [alpha, beta] = started.planes;
    const dir = started.configDir;
    const callers = { tokenSha256: [createHash('sha256').update(TOKEN).digest('hex')] };
    const config = parseClustersConfig({
      clusters: ['alpha', 'beta'].map((name) => ({
        name,
        kubeconfig: { path: 'kubeconfig', context: name },
        httpCallers: callers,
      })),
      leaseGroups: [{ namespace: NAMESPACE, name: LEASE, clusters: ['alpha', 'beta'] }],
    });
    stack = await startTestStack({ realClock: true, clusters: { config, configDir: dir } });
  }, 3_600_000);

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([alpha?.stop(), beta?.stop()]);
  });

  it('records each holder change and preemption on the Lease in every cluster of its group, as kubectl describe lists them', async () => {
    await heartbeat('beta', 'evt-old', '1.33.0');
    await decideAndMirror();
    // A better candidate: both heartbeat together, so the vote ranks both.
    await heartbeat('beta', 'evt-old', '1.33.0');
    await heartbeat('alpha', 'evt-best', '1.32.0');
    await decideAndMirror();
    // Mirrored again with nothing new: no Event.
    await heartbeat('alpha', 'evt-best', '1.32.0');
    await decideAndMirror();

    for (const plane of [alpha, beta]) {
      const events = await describedEvents(plane);
      expect(
        events.map((e) => [e.type, e.reason, e.message]),
        plane.name,
      ).toEqual([
        ['Normal', 'LeaderElection', 'Elected evt-old (term 1): the only live candidate'],
        [
          'Normal',
          'LeaderPreemption',
          'Asked evt-old to yield to evt-best (term 1): lowest emulation version 1.32.0 of 2 candidates',
        ],
      ]);
      expect(events[0]?.reportingComponent).toBe('lease-coordinator.dev/coordinator');
    }
  });

  it('has the RBAC to create Events and nothing more on them', async () => {
    const events = `/apis/events.k8s.io/v1/namespaces/${NAMESPACE}/events`;
    expect((await kube(alpha, 'GET', events, undefined, 'coordinator')).status).toBe(403);
    expect((await kube(alpha, 'DELETE', `${events}/anything`, undefined, 'coordinator')).status).toBe(403);
    expect(
      (await kube(alpha, 'GET', `/api/v1/namespaces/${NAMESPACE}/events`, undefined, 'coordinator')).status,
    ).toBe(403);
  });
});
