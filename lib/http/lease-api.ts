import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { parseOrThrow } from '../api/issues.js';
import { toLeaseObject } from '../api/lease.js';
import { candidateName, dns1123Label, dns1123Subdomain, type NameRule } from '../api/names.js';
import { ConflictError, type FieldIssue, ValidationError } from '../errors.js';
import type { HttpRouteDeps } from '../ports/http.js';
import type { LeaseKey, LeaseResolver } from '../ports/lease-key.js';
import { readJsonBody, refuseQuery } from './body.js';
import { callerCredentials } from './callers.js';
import { errorResponse, json } from './heartbeat-api.js';

type Response = APIGatewayProxyStructuredResultV2;

const renewBody = z.strictObject({
  leaseDurationSeconds: z
    .number({ error: 'required: the lease duration in seconds, as the holder renews it' })
    .int({ error: 'must be an integer' })
    .min(1, { error: 'must be greater than 0' })
    .max(3600, { error: 'must be at most 3600' }),
});

function pathParam(
  event: APIGatewayProxyEventV2,
  name: string,
  rule: NameRule,
  issues: FieldIssue[],
): string {
  const value = event.pathParameters?.[name] ?? '';
  const problem = rule(value);
  if (problem !== undefined) issues.push({ path: `path.${name}`, message: problem });
  return value;
}

function leaseKeyFrom(
  event: APIGatewayProxyEventV2,
  resolve: LeaseResolver,
): { key: LeaseKey; identity: string | undefined; cluster: string } {
  const issues: FieldIssue[] = [];
  const cluster = pathParam(event, 'cluster', dns1123Label, issues);
  const namespace = pathParam(event, 'namespace', dns1123Label, issues);
  const name = pathParam(event, 'name', dns1123Subdomain, issues);
  const identity =
    event.pathParameters?.identity === undefined
      ? undefined
      : pathParam(event, 'identity', candidateName, issues);
  if (issues.length > 0) throw new ValidationError(issues);
  refuseQuery(event);
  return { key: resolve(cluster, namespace, name), identity, cluster };
}

/** GET /clusters/{cluster}/namespaces/{namespace}/leases/{name}: the Lease as the coordinator decided it. */
export async function handleGetLease(deps: HttpRouteDeps, event: APIGatewayProxyEventV2): Promise<Response> {
  try {
    const { key, cluster } = leaseKeyFrom(event, deps.leases);
    deps.callers(cluster, callerCredentials(event));
    const { lease } = await deps.store.loadLease(key);
    if (lease === undefined)
      return json(404, {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'NotFound',
        code: 404,
        message: `lease ${key.namespace}/${key.name} has no decision yet`,
      });
    return json(200, toLeaseObject(key, lease.record));
  } catch (error) {
    return errorResponse(deps, error);
  }
}

/**
 * PUT .../leases/{name}/holder/{identity}: the holder renews, as client-go renews its Lease, for
 * candidates that reach us over HTTP only. DELETE releases it. The answer is the Lease, whose
 * preferredHolder tells the holder to yield. Only the recorded holder may renew or release (409).
 */
export async function handleHolder(deps: HttpRouteDeps, event: APIGatewayProxyEventV2): Promise<Response> {
  try {
    const { key, identity, cluster } = leaseKeyFrom(event, deps.leases);
    deps.callers(cluster, callerCredentials(event));
    const holder = identity ?? '';
    const releasing = event.requestContext.http.method === 'DELETE';
    const leaseDurationSeconds = releasing
      ? 1
      : parseOrThrow(renewBody, readJsonBody(event)).leaseDurationSeconds;
    const stored = await deps.store.recordRenewal(
      key,
      { holderIdentity: releasing ? '' : holder, expectedHolder: holder, leaseDurationSeconds },
      deps.clock(),
    );
    return json(200, toLeaseObject(key, stored.record));
  } catch (error) {
    if (error instanceof ConflictError) {
      const released = await releasedBy(deps, event);
      if (released !== undefined) return released;
      return json(409, {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Conflict',
        code: 409,
        message: error.message,
      });
    }
    return errorResponse(deps, error);
  }
}

/**
 * A release whose condition failed because the lease already stands released by this holder: the
 * same release landed before (a client, or the SDK after a timeout, sending it again). It is
 * answered as the release was, so letting go stays idempotent.
 */
async function releasedBy(deps: HttpRouteDeps, event: APIGatewayProxyEventV2): Promise<Response | undefined> {
  if (event.requestContext.http.method !== 'DELETE') return undefined;
  const { key, identity } = leaseKeyFrom(event, deps.leases);
  // A read that fails leaves the answer the conflict's: the caller learns no more than before.
  const { lease } = await deps.store.loadLease(key).catch(() => ({ lease: undefined }));
  const record = lease?.record;
  if (record === undefined || record.holderIdentity !== '' || record.releasedHolder !== identity)
    return undefined;
  return json(200, toLeaseObject(key, record));
}
