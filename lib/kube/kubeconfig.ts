import { dirname, isAbsolute, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { ClusterConfig } from '../clusters/config.js';
import { ConfigError } from '../errors.js';
import { EksTokenSource } from './eks-token.js';

/**
 * A KubeConfig for one registered cluster, from whichever auth source its config names. Each
 * cluster gets its own user name: the client caches credentials by user name.
 */
export async function kubeConfigFor(cluster: ClusterConfig, configDir = process.cwd()): Promise<KubeConfig> {
  const kc = new KubeConfig();
  if (cluster.kubeconfig !== undefined) {
    const path = isAbsolute(cluster.kubeconfig.path)
      ? cluster.kubeconfig.path
      : resolve(configDir, cluster.kubeconfig.path);
    kc.loadFromFile(path);
    if (cluster.kubeconfig.context !== undefined) {
      if (kc.getContextObject(cluster.kubeconfig.context) === null) {
        throw new ConfigError(
          `clusters.${cluster.name}.kubeconfig.context: no context "${cluster.kubeconfig.context}" in ${path}`,
        );
      }
      kc.setCurrentContext(cluster.kubeconfig.context);
    }
    return kc;
  }
  if (cluster.eks !== undefined) {
    const { endpoint, caData } = await eksEndpoint(cluster.eks);
    const tokens = new EksTokenSource(cluster.eks.name, cluster.eks.region);
    return bearerConfig(kc, cluster.name, endpoint, caData, await tokens.token());
  }
  if (cluster.token !== undefined) {
    const token = await fetchToken(cluster.token);
    return bearerConfig(kc, cluster.name, cluster.token.server, cluster.token.caData, token);
  }
  throw new ConfigError(`clusters.${cluster.name}: no auth source`);
}

function bearerConfig(
  kc: KubeConfig,
  name: string,
  server: string,
  caData: string,
  token: string,
): KubeConfig {
  kc.loadFromOptions({
    clusters: [{ name, server, caData, skipTLSVerify: false }],
    users: [{ name: `lease-coordinator@${name}`, token }],
    contexts: [{ name, cluster: name, user: `lease-coordinator@${name}` }],
    currentContext: name,
  });
  return kc;
}

async function eksEndpoint(
  eks: NonNullable<ClusterConfig['eks']>,
): Promise<{ endpoint: string; caData: string }> {
  if (eks.endpoint !== undefined && eks.caData !== undefined)
    return { endpoint: eks.endpoint, caData: eks.caData };
  // The SDK clients are imported where used: a bundle that loads the cluster code on demand
  // (lib/runtime/deps.ts) would otherwise load all three at its start.
  const { DescribeClusterCommand, EKSClient } = await import('@aws-sdk/client-eks');
  const out = await new EKSClient({ region: eks.region }).send(
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
    const out = await new SecretsManagerClient({ ...(region !== undefined && { region }) }).send(
      new GetSecretValueCommand({ SecretId: auth.secretArn }),
    );
    if (out.SecretString === undefined) throw new ConfigError(`secret ${auth.secretArn} has no string value`);
    return out.SecretString.trim();
  }
  const { GetParameterCommand, SSMClient } = await import('@aws-sdk/client-ssm');
  const out = await new SSMClient({}).send(
    new GetParameterCommand({ Name: auth.ssmParameter, WithDecryption: true }),
  );
  const value = out.Parameter?.Value;
  if (value === undefined) throw new ConfigError(`SSM parameter ${auth.ssmParameter} has no value`);
  return value.trim();
}

export function configDirOf(path: string): string {
  return dirname(resolve(path));
}
