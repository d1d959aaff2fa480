import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiserverAccess } from '../../lib/kube/apiserver-access.js';

// readerLoaded stays true once a test has loaded the reader: the pod test runs first.
const pod = vi.hoisted(() => ({
  access: undefined as ApiserverAccess | undefined,
  readerLoaded: false,
}));

// The pod's service account, as if the agent ran in a pod (its mount path is fixed).
vi.mock('../../lib/kube/in-cluster.js', async (original) => ({
  ...(await original<typeof import('../../lib/kube/in-cluster.js')>()),
  inClusterAccess: () => pod.access,
}));
// Records whether the kubeconfig reader (the YAML parser, its schemas) was loaded at all.
vi.mock('../../lib/kube/kubeconfig-file.js', async (original) => {
  pod.readerLoaded = true;
  return original();
});

const { apiserverAccess } = await import('../../lib/agent/access.js');

/** How the agent finds its apiserver, and that a pod's start does not load the kubeconfig reader. */
describe('the agent’s apiserver access (unit)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'agent-access-'));
    // No kubeconfig anywhere unless a test writes one: an empty home, no $KUBECONFIG.
    vi.stubEnv('HOME', dir);
    vi.stubEnv('KUBECONFIG', undefined);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    pod.access = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('in a pod with no kubeconfig, uses the service account without loading the kubeconfig reader', async () => {
    pod.access = {
      name: 'in-cluster',
      server: new URL('https://10.0.0.1:443'),
      tls: { rejectUnauthorized: true },
    };
    expect(await apiserverAccess({})).toBe(pod.access);
    expect(pod.readerLoaded).toBe(false);
  });

  it('reads --kubeconfig when given, even in a pod', async () => {
    pod.access = {
      name: 'in-cluster',
      server: new URL('https://10.0.0.1:443'),
      tls: { rejectUnauthorized: true },
    };
    const file = join(dir, 'config');
    writeFileSync(
      file,
      [
        'clusters: [{name: c, cluster: {server: "https://east.example:6443"}}]',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: east, context: {cluster: c, user: u}}]',
        'current-context: east',
      ].join('\n'),
    );
    const access = await apiserverAccess({ kubeconfig: file });
    expect(access.name).toBe('east');
    expect(access.server.href).toBe('https://east.example:6443/');
    expect(pod.readerLoaded).toBe(true);
  });

  it('names the flag when there is neither a kubeconfig nor a pod', async () => {
    await expect(apiserverAccess({})).rejects.toThrow(
      '--kubeconfig: no cluster to talk to (no kubeconfig, and not in a pod)',
    );
    await expect(apiserverAccess({ context: 'east' })).rejects.toThrow(
      '--context: no kubeconfig to find context "east" in',
    );
  });
});
