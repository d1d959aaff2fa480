import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ClusterConfig } from '../../lib/clusters/config.js';
import { accessFor } from '../../lib/kube/kubeconfig.js';
import { serveSsmParameters } from '../../lib/local/packaged/ssm-parameters.js';

const PARAMETER = '/lease-coordinator/tokens/alpha';

function tokenCluster(ssmParameter: string): ClusterConfig {
  return {
    name: 'alpha',
    token: { server: 'https://alpha.example:6443', caData: 'Q0EK', ssmParameter },
  } as ClusterConfig;
}

// The SSM client is imported on first use (lib/kube/kubeconfig.ts): this drives that path.
describe('accessFor with a bearer token in SSM (unit: an offline SSM endpoint)', () => {
  let ssm: Awaited<ReturnType<typeof serveSsmParameters>>;
  beforeAll(async () => {
    ssm = await serveSsmParameters({ [PARAMETER]: 'the-token\n' });
    vi.stubEnv('AWS_ENDPOINT_URL_SSM', ssm.url);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'offline');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'offline');
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await ssm?.close();
  });

  it('reads the token from the parameter and sends it to the cluster it names', async () => {
    const access = await accessFor(tokenCluster(PARAMETER), 0);
    expect(access.name).toBe('alpha');
    expect(access.server.href).toBe('https://alpha.example:6443/');
    expect(access.tls).toMatchObject({ ca: Buffer.from('CA\n'), rejectUnauthorized: true });
    expect(await access.token?.()).toBe('the-token');
    expect(ssm.requests).toContain(`AmazonSSM.GetParameter ${PARAMETER}`);
  });

  it('fails when the parameter does not exist', async () => {
    await expect(accessFor(tokenCluster('/lease-coordinator/tokens/none'), 0)).rejects.toThrow(
      '/lease-coordinator/tokens/none',
    );
  });
});
