import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { ApiserverAccess } from './apiserver-access.js';
import { cachedFileToken } from './file-token.js';

/**
 * Finding the apiserver without reading a kubeconfig: which kubeconfig files there are, and the
 * pod's service account. Apart from the kubeconfig reader (YAML, its schemas, exec plugins) so that
 * the agent in a pod, which has no kubeconfig, never loads that (lib/agent/access.ts).
 */

/** Where a pod's service account is mounted. */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The kubeconfig files kubectl would read: `file`, else $KUBECONFIG's, else ~/.kube/config where it exists. */
export function kubeconfigFiles(file: string | undefined): string[] {
  if (file !== undefined) return [file];
  return (
    process.env.KUBECONFIG?.split(delimiter).filter((f) => f !== '') ??
    [join(homedir(), '.kube', 'config')].filter(existsSync)
  );
}

/** The pod's service account, when the agent runs in a pod. */
export function inClusterAccess(): ApiserverAccess | undefined {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  const tokenPath = join(SERVICE_ACCOUNT_DIR, 'token');
  if (host === undefined || port === undefined || !existsSync(tokenPath)) return undefined;
  const caPath = join(SERVICE_ACCOUNT_DIR, 'ca.crt');
  return {
    name: 'in-cluster',
    server: new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`),
    tls: { ...(existsSync(caPath) && { ca: readFileSync(caPath) }), rejectUnauthorized: true },
    token: cachedFileToken(tokenPath, "the pod's service-account token"),
  };
}
