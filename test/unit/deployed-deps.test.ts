import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { serveSsmParameters } from '../../lib/local/packaged/ssm-parameters.js';

const KUBE = '/lease-coordinator/clusters-kube';
const HTTP_ONLY = '/lease-coordinator/clusters-http-only';
const TOKEN_SHA256 = createHash('sha256').update('edge-token').digest('hex');
const CONFIGS = {
  [KUBE]: [
    'clusters:',
    '  - name: alpha',
    '    kubeconfig: { path: /nonexistent/kubeconfig }',
    '  - name: edge',
    `    httpCallers: { tokenSha256: [${TOKEN_SHA256}] }`,
  ].join('\n'),
  [HTTP_ONLY]: ['clusters:', '  - name: edge', `    httpCallers: { tokenSha256: [${TOKEN_SHA256}] }`].join(
    '\n',
  ),
};

/** A fresh container: the wiring modules cache what they build, so each case loads them anew. */
async function coldDeps(parameter: string) {
  vi.stubEnv('CLUSTERS_CONFIG_PARAMETER', parameter);
  vi.resetModules();
  const { deployedDeps } = await import('../../lib/runtime/deps.js');
  return deployedDeps();
}

describe('the deployed wiring of the deciding functions (unit: an offline SSM endpoint, no I/O to AWS)', () => {
  let ssm: Awaited<ReturnType<typeof serveSsmParameters>>;
  beforeAll(async () => {
    ssm = await serveSsmParameters(CONFIGS);
    vi.stubEnv('AWS_ENDPOINT_URL_SSM', ssm.url);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'offline');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'offline');
    vi.stubEnv('TABLE_NAME', 'lease-coordinator-ci');
    vi.stubEnv('TIMER_QUEUE_URL', 'https://sqs.us-east-1.amazonaws.com/111122223333/timers');
  });
  beforeEach(() => {
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await ssm?.close();
  });

  it('adds the cluster wiring (loaded on demand) when a cluster is reached over Kubernetes', async () => {
    const deps = await coldDeps(KUBE);
    expect(deps.clusterWiring?.clusters.names()).toEqual(['alpha']);
    expect(deps.clusterWiring?.clusters.httpOnly('edge')).toBe(true);
    expect(deps.readHolderLease).toBeTypeOf('function');
    expect(deps.holderClusterUnreachable).toBeTypeOf('function');
    expect(deps.preemption).toBeTypeOf('function');
    // Loading the Kubernetes client through vitest's transform takes seconds on a busy machine.
  }, 60_000);

  it('has no cluster wiring with HTTP-only clusters, but their callers and lease groups', async () => {
    const deps = await coldDeps(HTTP_ONLY);
    expect(deps.clusterWiring).toBeUndefined();
    expect(deps.readHolderLease).toBeUndefined();
    expect(deps.holderClusterUnreachable).toBeUndefined();
    expect(deps.leases('edge', 'kube-system', 'kube-scheduler')).toEqual({
      scope: 'edge',
      namespace: 'kube-system',
      name: 'kube-scheduler',
    });
    const bearer = (token: string) => ({ bearerToken: token });
    expect(() => deps.callers('edge', bearer('edge-token'))).not.toThrow();
    expect(() => deps.callers('edge', bearer('wrong'))).toThrow('does not allow writing for cluster "edge"');
  });
});
