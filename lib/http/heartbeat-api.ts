import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { parseLeaseCandidate } from '../api/leasecandidate.js';
import { dns1123Label } from '../api/names.js';
import {
  AuthenticationError,
  CoordinatorError,
  ForbiddenError,
  PayloadTooLargeError,
  StaleHeartbeatError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../errors.js';
import type { HttpRouteDeps } from '../ports/http.js';
import type { HeartbeatRejection } from '../ports/metrics.js';
import type { HeartbeatResult } from '../ports/store.js';
import { readJsonBody, refuseQuery } from './body.js';
import { callerCredentials } from './callers.js';
import { toLeaseCandidateObject } from './candidate-response.js';

type Response = APIGatewayProxyStructuredResultV2;

/**
 * POST /clusters/{cluster}/leasecandidates: a LeaseCandidate heartbeat, in any served version.
 * Answers 201 (first heartbeat) or 200 with the stored candidate, whose spec.pingTime tells the
 * caller when the coordinator last asked it to renew; 400/409/413/415 store nothing.
 */
export async function handleHeartbeat(deps: HttpRouteDeps, event: APIGatewayProxyEventV2): Promise<Response> {
  try {
    const cluster = event.pathParameters?.cluster ?? '';
    const clusterProblem = dns1123Label(cluster);
    if (clusterProblem !== undefined)
      throw new ValidationError([{ path: 'path.cluster', message: clusterProblem }]);
    refuseQuery(event);
    deps.callers(cluster, callerCredentials(event));
    // A resourceVersion in the body is not one in any cluster: a candidate stored without one is
    // known to be heard over HTTP, and is neither pinged nor deleted in its cluster.
    const { resourceVersion: _notOurs, ...candidate } = parseLeaseCandidate(readJsonBody(event));
    if (candidate.renewTime === undefined) {
      throw new ValidationError([
        { path: 'spec.renewTime', message: 'required: a heartbeat carries the time the candidate renewed' },
      ]);
    }
    const result: HeartbeatResult = await deps.store.putHeartbeat(
      deps.leases(cluster, candidate.namespace, candidate.leaseName),
      cluster,
      { ...candidate, renewTime: candidate.renewTime },
      deps.clock(),
    );
    return json(result.created ? 201 : 200, toLeaseCandidateObject(result.candidate));
  } catch (error) {
    const failure = failureOf(deps, error);
    deps.metrics?.record('HeartbeatsRejected', 1, failure.reason);
    return status(failure);
  }
}

/** Kubernetes-style Status bodies, so kubectl-minded clients read them as they would the apiserver's. */
export function errorResponse(deps: Pick<HttpRouteDeps, 'logger'>, error: unknown): Response {
  return status(failureOf(deps, error));
}

/** What a failed request is answered with: its status code, the Status reason, message and causes. */
interface Failure {
  readonly code: number;
  readonly reason: HeartbeatRejection;
  readonly message: string;
  readonly causes?: { field: string; message: string }[];
}

function failureOf(deps: Pick<HttpRouteDeps, 'logger'>, error: unknown): Failure {
  if (error instanceof ValidationError) {
    const causes = error.issues.map((i) => ({ field: i.path, message: i.message }));
    return { code: 400, reason: 'Invalid', message: error.message, causes };
  }
  if (error instanceof PayloadTooLargeError)
    return { code: 413, reason: 'RequestEntityTooLarge', message: error.message };
  if (error instanceof UnsupportedMediaTypeError)
    return { code: 415, reason: 'UnsupportedMediaType', message: error.message };
  if (error instanceof StaleHeartbeatError) return { code: 409, reason: 'Conflict', message: error.message };
  if (error instanceof AuthenticationError)
    return { code: 401, reason: 'Unauthorized', message: error.message };
  if (error instanceof ForbiddenError) return { code: 403, reason: 'Forbidden', message: error.message };
  deps.logger.error('request failed', { error: error as Error });
  const retryable = error instanceof CoordinatorError ? error.retryable : true;
  return retryable
    ? { code: 503, reason: 'ServiceUnavailable', message: 'internal error' }
    : { code: 500, reason: 'InternalError', message: 'internal error' };
}

function status({ code, reason, message, causes }: Failure): Response {
  return json(code, {
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    message,
    reason,
    code,
    ...(causes !== undefined && { details: { causes } }),
  });
}

export function json(statusCode: number, body: unknown): Response {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
