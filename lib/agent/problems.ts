import { ConfigError } from '../errors.js';
import { ApiStatusError } from '../kube/apiserver.js';
import { type StatusCause, statusOf } from '../kube/status.js';
import { type CandidateSpec, FLAG_OF_FIELD } from './options.js';

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
  if (error.code === 404 && statusOf(error.body)?.details?.kind === 'namespaces')
    return `namespace ${candidate.namespace} does not exist in this cluster (--namespace)`;
  if (error.code === 422) return invalidCandidate(statusOf(error.body)?.details?.causes ?? []);
  return undefined;
}

/**
 * The apiserver refused the object the flags make. The flags passed the built-in LeaseCandidate's
 * rules before anything was sent, but the CRD's are stricter on one field: a custom resource's name
 * is a DNS subdomain, where the built-in API takes `hostname_<uuid>` or capitals.
 */
function invalidCandidate(causes: readonly StatusCause[]): string {
  const fields = causes.map(
    (c) =>
      `${c.field !== undefined && FLAG_OF_FIELD[c.field] !== undefined ? `${FLAG_OF_FIELD[c.field]} (${c.field})` : (c.field ?? 'the object')} ${c.message ?? 'is invalid'}`,
  );
  const name = causes.some((c) => c.field === 'metadata.name')
    ? " (the CRD LeaseCandidate's name is a lowercase DNS subdomain: give the elector and the agent such an identity, the pod name for one)"
    : '';
  return `the apiserver refuses the LeaseCandidate: ${fields.join('; ') || 'invalid'}${name}`;
}
