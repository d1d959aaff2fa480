import { ConfigError } from '../errors.js';
import { ApiStatusError } from '../kube/apiserver.js';
import type { CandidateSpec } from './options.js';

/**
 * What the agent logs when a session ends in an error, and starts again. Most are a lost cluster,
 * but an apiserver that refuses the agent's requests (no RBAC for its identity, a namespace that
 * does not exist, credentials it does not accept) answers the same way every second: the log says
 * which, and names the flag or the manifest that fixes it, since "lost the cluster" would send the
 * reader looking at the network. Credentials that cannot be read are said as such too.
 */
export function restartMessage(error: unknown, candidate: CandidateSpec): string {
  // Its credentials cannot be read (a token file gone or empty): nothing was sent to the cluster.
  if (error instanceof ConfigError) return `cannot read its credentials: ${error.message}: starting again`;
  const refusal = error instanceof ApiStatusError ? refusalOf(error, candidate) : undefined;
  return `${refusal ?? 'lost the cluster'}: starting again`;
}

function refusalOf(error: ApiStatusError, candidate: CandidateSpec): string | undefined {
  if (error.code === 401)
    return 'the apiserver does not accept the credentials (--kubeconfig, --context, or the pod service account)';
  if (error.code === 403)
    return `forbidden: bind the ClusterRole lease-coordinator-candidate to this identity in namespace ${candidate.namespace} (infra/kubernetes/candidate-rbac.yaml)`;
  if (error.code === 404 && notFoundKind(error.body) === 'namespaces')
    return `namespace ${candidate.namespace} does not exist in this cluster (--namespace)`;
  return undefined;
}

/** `details.kind` of a Kubernetes Status: what was not found (`namespaces` for a missing namespace). */
function notFoundKind(body: string): string | undefined {
  try {
    const status = JSON.parse(body) as { details?: { kind?: unknown } };
    return typeof status.details?.kind === 'string' ? status.details.kind : undefined;
  } catch {
    return undefined;
  }
}
