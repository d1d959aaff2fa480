import https from 'node:https';
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClusterTimeoutError } from '../../lib/errors.js';
import { keepAliveConfiguration } from '../../lib/kube/keep-alive.js';
import { request } from '../../lib/kube/request.js';

function kubeconfig(caData: string, proxyUrl?: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [
      {
        name: 'c',
        server: 'https://127.0.0.1:6443',
        caData: Buffer.from(caData).toString('base64'),
        skipTLSVerify: false,
        ...(proxyUrl !== undefined && { proxyUrl }),
      },
    ],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
    currentContext: 'c',
  });
  return config;
}

async function agentFor(config: ReturnType<typeof keepAliveConfiguration>): Promise<{
  agent: unknown;
  headers: Record<string, string>;
}> {
  const context = new RequestContext('https://127.0.0.1:6443/apis', HttpMethod.GET);
  await config.authMethods.default?.applySecurityAuthentication(context);
  return { agent: context.getAgent(), headers: context.getHeaders() };
}

describe('kube client requests (unit: no apiserver)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends every request of a cluster over one kept-alive agent with the kubeconfig’s CA and token', async () => {
    const config = keepAliveConfiguration(kubeconfig('CA ONE'));
    const first = await agentFor(config);
    const second = await agentFor(config);
    expect(first.agent).toBeInstanceOf(https.Agent);
    expect(second.agent).toBe(first.agent);
    const options = (first.agent as https.Agent).options;
    expect(options.keepAlive).toBe(true);
    expect(String(options.ca)).toBe('CA ONE');
    expect(second.headers.Authorization).toBe('Bearer secret-token');
  });

  it('starts a new pool when the TLS settings change (rotated credentials)', async () => {
    const source = kubeconfig('CA ONE');
    const config = keepAliveConfiguration(source);
    const before = (await agentFor(config)).agent as https.Agent;
    source.loadFromOptions({ ...kubeconfig('CA TWO'), currentContext: 'c' });
    const after = (await agentFor(config)).agent as https.Agent;
    expect(after).not.toBe(before);
    expect(String(after.options.ca)).toBe('CA TWO');
  });

  it('leaves a proxy’s agent to the library', async () => {
    const config = keepAliveConfiguration(kubeconfig('CA ONE', 'http://proxy.example:3128'));
    const first = await agentFor(config);
    const second = await agentFor(config);
    expect(second.agent).not.toBe(first.agent);
    expect(first.agent?.constructor).not.toBe(https.Agent);
  });

  it('sends a request once more after a connection reset, and nothing else more than once', async () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const resetOnce = vi.fn().mockRejectedValueOnce(reset).mockResolvedValueOnce('read');
    expect(await request('c', resetOnce)).toBe('read');
    expect(resetOnce).toHaveBeenCalledTimes(2);

    const resetTwice = vi.fn().mockRejectedValue(reset);
    await expect(request('c', resetTwice)).rejects.toThrow('socket hang up');
    expect(resetTwice).toHaveBeenCalledTimes(2);

    const down = vi.fn().mockRejectedValue(refused);
    await expect(request('c', down)).rejects.toThrow('ECONNREFUSED');
    expect(down).toHaveBeenCalledTimes(1);
  });

  it('gives up on a cluster that does not answer within 10 s, without sending again', async () => {
    vi.useFakeTimers();
    const hung = vi.fn(() => new Promise<never>(() => {}));
    const outcome = request('c', hung).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await outcome).toBeInstanceOf(ClusterTimeoutError);
    expect(hung).toHaveBeenCalledTimes(1);
  });
});
