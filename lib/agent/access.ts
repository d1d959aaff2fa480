import type { ApiserverAccess } from '../kube/apiserver-access.js';
import { inClusterAccess, kubeconfigFiles } from '../kube/in-cluster.js';

/**
 * The apiserver the agent talks to, as `loadApiserverAccess` picks it (docs/agent.md): --kubeconfig,
 * $KUBECONFIG, ~/.kube/config, else the pod's service account. A sidecar in a pod has no kubeconfig,
 * and its service account is read here without loading the kubeconfig reader (the YAML parser, its
 * schemas, exec plugins): that code took about a tenth of the agent's start-up CPU, and a sidecar
 * starts beside every replica, often all at once.
 */
export async function apiserverAccess(options: {
  readonly kubeconfig?: string;
  readonly context?: string;
}): Promise<ApiserverAccess> {
  if (options.kubeconfig === undefined && options.context === undefined) {
    const inCluster = kubeconfigFiles(undefined).length === 0 ? inClusterAccess() : undefined;
    if (inCluster !== undefined) return inCluster;
  }
  // Imported here, so that the bundle (one file, scripts/bundle-agent.mjs) evaluates it only here.
  const { loadApiserverAccess } = await import('../kube/kubeconfig-file.js');
  return loadApiserverAccess({
    ...(options.kubeconfig !== undefined && { file: options.kubeconfig }),
    ...(options.context !== undefined && { context: options.context }),
  });
}
