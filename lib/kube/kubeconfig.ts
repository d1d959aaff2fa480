import { dirname, isAbsolute, resolve } from 'node:path';
import { formatPath } from '../api/issues.js';
import { AWS_CALL_LIMITS } from '../aws-call-limits.js';
import type { ClusterConfig } from '../clusters/config.js';
import { ConfigError } from '../errors.js';
import type { ApiserverAccess } from './apiserver-access.js';
import { loadApiserverAccess } from './kubeconfig-file.js';

/**
 * How to reach one registered cluster (`index` in the config's clusters), from whichever auth
 * source its config names. The cluster's name names it in errors (a request timeout, a refused
 * write), whatever its kubeconfig context is called; a config error names the field as the config's
 * validation does (`clusters[0].kubeconfig.context`).
 */
export async function accessFor(
  cluster: ClusterConfig,
  index: number,
  configDir = process.cwd(),
): Promise<ApiserverAccess> {
  if (cluster.kubeconfig !== undefined) {
    const field = (key: string) => formatPath(['clusters', index, 'kubeconfig', key]);
    const path = isAbsolute(cluster.kubeconfig.path)
      ? cluster.kubeconfig.path
      : resolve(configDir, cluster.kubeconfig.path);
    const access = loadApiserverAccess({
      file: path,
      ...(cluster.kubeconfig.context !== undefined && { context: cluster.kubeconfig.context }),
      fields: { file: field('path'), context: field('context') },
    });
    return { ...access, name: cluster.name };
  }
  if (cluster.eks !== undefined) {
    const { endpoint, caData } = await eksEndpoint(cluster.eks);
    // Loaded here: only an EKS cluster needs the request signer.
    const { EksTokenSource } = await import('./eks-token.js');
    const tokens = new EksTokenSource(cluster.eks.name, cluster.eks.region);
    await tokens.token(); // fails the build, not the first request, when no credentials sign it
    return bearerAccess(cluster.name, endpoint, caData, () => tokens.token());
  }
  if (cluster.token !== undefined) {
    const token = await fetchToken(cluster.token);
    return bearerAccess(cluster.name, cluster.token.server, cluster.token.caData, async () => token);
  }
  throw new ConfigError(`${formatPath(['clusters', index])}: no auth source`);
}

function bearerAccess(
  name: string,
  server: string,
  caData: string,
  token: () => Promise<string>,
): ApiserverAccess {
  return {
    name,
    server: new URL(server),
    tls: { ca: Buffer.from(caData, 'base64'), rejectUnauthorized: true },
    token,
  };
}

async function eksEndpoint(
  eks: NonNullable<ClusterConfig['eks']>,
): Promise<{ endpoint: string; caData: string }> {
  if (eks.endpoint !== undefined && eks.caData !== undefined)
    return { endpoint: eks.endpoint, caData: eks.caData };
  // The SDK clients are imported where used: a bundle that loads the cluster code on demand
  // (lib/runtime/deps.ts) would otherwise load all three at its start.
  const { DescribeClusterCommand, EKSClient } = await import('@aws-sdk/client-eks');
  const out = await new EKSClient({ region: eks.region, requestHandler: { ...AWS_CALL_LIMITS } }).send(
    new DescribeClusterCommand({ name: eks.name }),
  );
  const endpoint = out.cluster?.endpoint;
  const caData = out.cluster?.certificateAuthority?.data;
  if (endpoint === undefined || caData === undefined) {
    throw new ConfigError(`EKS cluster ${eks.name} in ${eks.region} has no endpoint or CA yet`);
  }
  return { endpoint, caData };
}

async function fetchToken(auth: NonNullable<ClusterConfig['token']>): Promise<string> {
  if (auth.secretArn !== undefined) {
    const region = auth.secretArn.split(':')[3];
    const { GetSecretValueCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    const out = await new SecretsManagerClient({
      ...(region !== undefined && { region }),
      requestHandler: { ...AWS_CALL_LIMITS },
    }).send(new GetSecretValueCommand({ SecretId: auth.secretArn }));
    if (out.SecretString === undefined) throw new ConfigError(`secret ${auth.secretArn} has no string value`);
    return out.SecretString.trim();
  }
  const { GetParameterCommand, SSMClient } = await import('@aws-sdk/client-ssm');
  const out = await new SSMClient({ requestHandler: { ...AWS_CALL_LIMITS } }).send(
    new GetParameterCommand({ Name: auth.ssmParameter, WithDecryption: true }),
  );
  const value = out.Parameter?.Value;
  if (value === undefined) throw new ConfigError(`SSM parameter ${auth.ssmParameter} has no value`);
  return value.trim();
}

export function configDirOf(path: string): string {
  return dirname(resolve(path));
}
