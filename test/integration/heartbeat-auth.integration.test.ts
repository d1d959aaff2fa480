import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClustersConfig } from '../../lib/clusters/config.js';
import { candidate, startTestStack, type TestStack } from '../helpers/local-stack.js';

const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');
const TOKENS = { alpha: 'alpha-secret-token', beta: 'beta-secret-token' };

describe('HTTP callers per cluster (integration: HTTP API on DynamoDB Local)', () => {
  let stack: TestStack;
  const send = async (method: string, path: string, body: unknown, token?: string) => {
    const response = await fetch(`${stack.url}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token !== undefined && { authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    // The clusters are never contacted here (ingest is not started); only the HTTP callers matter.
    const config = parseClustersConfig({
      clusters: (['alpha', 'beta'] as const).map((name) => ({
        name,
        kubeconfig: { path: 'unused.kubeconfig' },
        httpCallers: { tokenSha256: [sha256(TOKENS[name])] },
      })),
    });
    stack = await startTestStack({ clusters: { config, configDir: '/nonexistent' } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const body = () => candidate('sched-a', { binary: '1.34.0', emulation: '1.33.0' }, Date.now());

  it('accepts a cluster writing its own candidates', async () => {
    expect((await send('POST', '/clusters/alpha/leasecandidates', body(), TOKENS.alpha)).status).toBe(201);
  });

  it('answers 401 without a credential and 403 for another cluster, storing nothing', async () => {
    const before = await stack.snapshot();
    const anonymous = await send('POST', '/clusters/alpha/leasecandidates', body());
    expect(anonymous.status).toBe(401);
    expect(String(anonymous.json.message)).toContain('Authorization');
    const foreign = await send('POST', '/clusters/alpha/leasecandidates', body(), TOKENS.beta);
    expect(foreign.status).toBe(403);
    expect(String(foreign.json.message)).toContain('"alpha"');
    const wrongLease = await send(
      'PUT',
      '/clusters/alpha/namespaces/kube-system/leases/kube-scheduler/holder/sched-a',
      { leaseDurationSeconds: 15 },
      TOKENS.beta,
    );
    expect(wrongLease.status).toBe(403);
    expect(await stack.snapshot()).toEqual(before);
  });
});
