/**
 * IAM principals as the clusters config names them (`httpCallers.iamPrincipalArns`) and as API
 * Gateway's IAM authorizer reports the signer of a request (`requestContext.authorizer.iam.userArn`).
 */

const ROLE_ARN = /^arn:([a-z-]+):iam::(\d{12}):role\/(?:.+\/)?([^/]+)$/;
const USER_ARN = /^arn:([a-z-]+):iam::(\d{12}):user\/(?:.+\/)?[^/]+$/;
const ASSUMED_ROLE_ARN = /^arn:([a-z-]+):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/;

/**
 * What a configured ARN admits, as a comparable key. A role admits every session of it: its
 * sessions sign as `arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION`, which carries the
 * account and the role's name but not its path, so the path plays no part (a role name is unique
 * within an account whatever its path). A user admits exactly that user ARN.
 */
export function configuredPrincipal(arn: string): string {
  const role = ROLE_ARN.exec(arn);
  if (role !== null) return `role:${role[1]}:${role[2]}:${role[3]}`;
  return `exact:${arn}`;
}

/** The key of a signer's ARN as API Gateway reports it (`requestContext.authorizer.iam.userArn`). */
export function callerPrincipal(arn: string): string {
  const session = ASSUMED_ROLE_ARN.exec(arn);
  if (session !== null) return `role:${session[1]}:${session[2]}:${session[3]}`;
  // Only an IAM user's own ARN matches exactly; a role ARN never signs a request itself.
  return USER_ARN.test(arn) ? `exact:${arn}` : `other:${arn}`;
}

/** Whether a request signed by `caller` is one the configured ARN admits. */
export function principalAdmits(configured: string, caller: string): boolean {
  return configuredPrincipal(configured) === callerPrincipal(caller);
}

/** The pattern the clusters config holds `iamPrincipalArns` to (lib/clusters/config.ts). */
export const IAM_PRINCIPAL_ARN = new RegExp(`${ROLE_ARN.source}|${USER_ARN.source}`);
