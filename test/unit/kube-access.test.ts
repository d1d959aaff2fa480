import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import type { ClusterConfig } from '../../lib/clusters/config.js';
import { ConfigError } from '../../lib/errors.js';
import { accessFor } from '../../lib/kube/kubeconfig.js';

const KUBECONFIG = {
  apiVersion: 'v1',
  kind: 'Config',
  'current-context': 'east',
  clusters: [
    {
      name: 'east',
      cluster: { server: 'https://east.example:6443', 'certificate-authority-data': 'RUFTVA==' },
    },
    {
      name: 'west',
      cluster: { server: 'https://west.example:6443', 'certificate-authority-data': 'V0VTVA==' },
    },
  ],
  users: [{ name: 'me', user: { token: 'kube-token' } }],
  contexts: [
    { name: 'east', context: { cluster: 'east', user: 'me' } },
    { name: 'west', context: { cluster: 'west', user: 'me' } },
  ],
};

/** The coordinator's way into each registered cluster: what its apiserver client (lib/kube/apiserver.ts) sends. */
describe('accessFor (unit: a kubeconfig in a temporary directory, an offline EKS signer)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kube-access-'));
    writeFileSync(join(dir, 'clusters.kubeconfig'), stringify(KUBECONFIG));
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    rmSync(dir, { recursive: true, force: true });
  });

  const kubeconfigCluster = (context?: string) =>
    ({
      name: 'alpha',
      kubeconfig: { path: 'clusters.kubeconfig', ...(context !== undefined && { context }) },
    }) as ClusterConfig;

  it('reads the context the config names, relative to the config directory, under the cluster’s own name', async () => {
    const access = await accessFor(kubeconfigCluster('west'), 0, dir);
    expect(access.name).toBe('alpha');
    expect(access.server.href).toBe('https://west.example:6443/');
    expect(access.tls.ca?.toString()).toBe('WEST');
    expect(await access.token?.()).toBe('kube-token');
  });

  it('uses the kubeconfig’s current context when the config names none', async () => {
    expect((await accessFor(kubeconfigCluster(), 0, dir)).server.host).toBe('east.example:6443');
  });

  it('names the config field when the context is not in the kubeconfig, as the config validation does', async () => {
    const failure = accessFor(kubeconfigCluster('north'), 1, dir);
    await expect(failure).rejects.toThrow(ConfigError);
    await expect(failure).rejects.toThrow('clusters[1].kubeconfig.context: no context "north"');
  });

  it('signs an EKS token for the cluster it names', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDOFFLINE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'offline');
    const access = await accessFor(
      {
        name: 'beta',
        eks: { name: 'prod-eks', region: 'eu-west-1', endpoint: 'https://eks.example', caData: 'RUtT' },
      } as ClusterConfig,
      0,
      dir,
    );
    expect(access.server.href).toBe('https://eks.example/');
    expect(access.tls).toMatchObject({ ca: Buffer.from('EKS'), rejectUnauthorized: true });
    const token = (await access.token?.()) ?? '';
    expect(token.startsWith('k8s-aws-v1.')).toBe(true);
    const url = new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString());
    expect(url.host).toBe('sts.eu-west-1.amazonaws.com');
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toContain('x-k8s-aws-id');
  });
});
