import { createHash, timingSafeEqual } from 'node:crypto';
import type { APIGatewayEventRequestContextIAMAuthorizer, APIGatewayProxyEventV2 } from 'aws-lambda';
import type { ClustersConfig } from '../clusters/config.js';
import { callerPrincipal, configuredPrincipal } from '../clusters/iam-principals.js';
import { AuthenticationError, ForbiddenError } from '../errors.js';
import type { CallerCheck, CallerCredentials } from '../ports/http.js';

/**
 * Every caller is accepted. Only for `npm start` without a clusters config, whose HTTP server
 * listens on 127.0.0.1 alone (lib/local/http-server.ts): nobody off this machine can reach it.
 */
export const anyCaller: CallerCheck = () => undefined;

/**
 * No caller is accepted: a deployed stack without a clusters config answers 401 to every request
 * and stores nothing. Closed by default (with a config, configuredCallers admits only whom it names).
 */
export const noCaller: CallerCheck = () => {
  throw new AuthenticationError(
    'this deployment has no HTTP callers configured (httpCallers in the clusters config, docs/deploy.md)',
  );
};

/**
 * Callers of the HTTP API, per cluster, from the clusters config: a cluster can write only its
 * own candidates and renew only its own Leases.
 *
 * The route decides which credential counts: on the `/iam/` routes API Gateway has verified a
 * SigV4 signature and puts the signer in `requestContext.authorizer.iam`; on the others only an
 * `Authorization: Bearer` token is looked at (docs/clusters.md, "HTTP callers").
 */
export function configuredCallers(config: Pick<ClustersConfig, 'clusters'>): CallerCheck {
  const rules = new Map(
    config.clusters.map((c) => [
      c.name,
      {
        hashes: (c.httpCallers?.tokenSha256 ?? []).map((h) => Buffer.from(h, 'hex')),
        principals: new Set((c.httpCallers?.iamPrincipalArns ?? []).map(configuredPrincipal)),
      },
    ]),
  );
  return (cluster, { iamSigner: signer, bearerToken: bearer }) => {
    if (signer === undefined && bearer === undefined) {
      throw new AuthenticationError('an Authorization: Bearer token (or an IAM-signed request) is required');
    }
    const rule = rules.get(cluster);
    const hash = bearer === undefined ? undefined : createHash('sha256').update(bearer).digest();
    const allowed =
      rule !== undefined &&
      ((signer !== undefined && rule.principals.has(callerPrincipal(signer))) ||
        (hash !== undefined &&
          rule.hashes.some((h) => h.length === hash.length && timingSafeEqual(h, hash))));
    if (!allowed) throw new ForbiddenError(`the credential does not allow writing for cluster "${cluster}"`);
  };
}

/**
 * The credentials a request presents. The route decides which count: a signer that API Gateway's
 * IAM authorizer verified (the `/iam/` routes) is the caller, and a bearer token beside it is
 * ignored; without one, only an `Authorization: Bearer` token is looked at.
 */
export function callerCredentials(event: APIGatewayProxyEventV2): CallerCredentials {
  const signer = iamSigner(event);
  if (signer !== undefined) return { iamSigner: signer };
  const token = bearerToken(event);
  return token === undefined ? {} : { bearerToken: token };
}

/** The ARN API Gateway's IAM authorizer verified, when the route has that authorizer. */
function iamSigner(event: APIGatewayProxyEventV2): string | undefined {
  // Optional: the local HTTP server and tests build events without a request context.
  const context = event.requestContext as
    | { authorizer?: Partial<APIGatewayEventRequestContextIAMAuthorizer> }
    | undefined;
  const arn = context?.authorizer?.iam?.userArn;
  return typeof arn === 'string' && arn !== '' ? arn : undefined;
}

function bearerToken(event: APIGatewayProxyEventV2): string | undefined {
  return /^Bearer (.+)$/i.exec(event.headers?.authorization ?? '')?.[1];
}
