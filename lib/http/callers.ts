import { createHash, timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { ClustersConfig } from '../clusters/config.js';
import { AuthenticationError, ForbiddenError } from '../errors.js';

/** Throws unless the caller may act for `cluster`. */
export type CallerCheck = (cluster: string, event: APIGatewayProxyEventV2) => void;

/** With no clusters config (local use, HTTP-only demos) every caller is accepted. */
export const anyCaller: CallerCheck = () => undefined;

/**
 * Callers of the HTTP API, per cluster, from the clusters config: a cluster can write only its
 * own candidates and renew only its own Leases.
 */
export function configuredCallers(config: Pick<ClustersConfig, 'clusters'>): CallerCheck {
  const rules = new Map(
    config.clusters.map((c) => [
      c.name,
      {
        hashes: (c.httpCallers?.tokenSha256 ?? []).map((h) => Buffer.from(h, 'hex')),
        arns: new Set(c.httpCallers?.iamPrincipalArns ?? []),
      },
    ]),
  );
  return (cluster, event) => {
    const arn = (event.requestContext as { authorizer?: { iam?: { userArn?: string } } }).authorizer?.iam
      ?.userArn;
    const bearer = /^Bearer (.+)$/i.exec(event.headers?.authorization ?? '')?.[1];
    if (arn === undefined && bearer === undefined) {
      throw new AuthenticationError('an Authorization: Bearer token (or an IAM-signed request) is required');
    }
    const rule = rules.get(cluster);
    const hash = bearer === undefined ? undefined : createHash('sha256').update(bearer).digest();
    const allowed =
      rule !== undefined &&
      ((arn !== undefined && rule.arns.has(arn)) ||
        (hash !== undefined &&
          rule.hashes.some((h) => h.length === hash.length && timingSafeEqual(h, hash))));
    if (!allowed) throw new ForbiddenError(`the credential does not allow writing for cluster "${cluster}"`);
  };
}
