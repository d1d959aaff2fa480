import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClustersConfig } from '../../lib/clusters/config.js';
import { candidate, startTestStack, type TestStack } from '../helpers/local-stack.js';

const TOKEN = 'edge-secret-token';
const LEASE = { scope: 'edge', namespace: 'kube-system', name: 'kube-scheduler' };
const LEASE_PATH = '/clusters/edge/namespaces/kube-system/leases/kube-scheduler';
const VERSIONS = { binary: '1.34.0', emulation: '1.34.0' };

describe('an HTTP-only cluster beside a Kubernetes one (integration: DynamoDB Local)', () => {
  let stack: TestStack;
  const send = async (method: string, path: string, body: unknown) => {
    const response = await fetch(`${stack.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(body),
    });
    return response.status;
  };
  const heartbeat = (name: string) =>
    send('POST', '/clusters/edge/leasecandidates', candidate(name, VERSIONS, stack.clock.now));
  const holder = async () => (await stack.deps.store.loadLease(LEASE)).lease?.record.holderIdentity;

  beforeAll(async () => {
    // alpha has a way in that cannot work (it is never needed here); edge has no Kubernetes at all.
    const config = parseClustersConfig({
      clusters: [
        { name: 'alpha', kubeconfig: { path: 'unused.kubeconfig' } },
        { name: 'edge', httpCallers: { tokenSha256: [createHash('sha256').update(TOKEN).digest('hex')] } },
      ],
    });
    stack = await startTestStack({ clusters: { config, configDir: '/nonexistent' } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('registers only the Kubernetes cluster, and fails its silent holder over at the deadline (no cluster to wait for)', async () => {
    expect(stack.registry?.names()).toEqual(['alpha']);
    expect(await heartbeat('sched-a')).toBe(201);
    await stack.streams.drain();
    expect(await holder()).toBe('sched-a');
    expect(await heartbeat('sched-b')).toBe(201);
    await stack.streams.drain();
    stack.clock.advance(100);
    expect(await send('PUT', `${LEASE_PATH}/holder/sched-a`, { leaseDurationSeconds: 5 })).toBe(200);

    // sched-a falls silent; sched-b answers every ping. Before the fix the takeover asked edge's
    // apiserver for sched-a's Lease, could not, and kept sched-a (Wait) for as long as edge existed.
    for (let round = 0; round < 10 && (await holder()) === 'sched-a'; round++) {
      const due = stack.timers.nextDueAt();
      expect(due).toBeDefined();
      stack.clock.now = Math.max(stack.clock.now, due as number);
      await stack.timers.fireDue(stack.clock.now);
      await stack.streams.drain();
      stack.clock.advance(100);
      expect(await heartbeat('sched-b')).toBe(200);
      await stack.streams.drain();
    }
    expect(await holder()).toBe('sched-b');
  });
});
