import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { namedString, requiredString } from '../api/fields.js';
import { toValidationError } from '../api/issues.js';
import { dns1123Label, dns1123Subdomain } from '../api/names.js';
import { ConfigError } from '../errors.js';
import { IAM_PRINCIPAL_ARN } from './iam-principals.js';

/*
 * Which clusters exist, how to reach them, and which leases are coordinated across which
 * clusters. Local runs read it from a file; the deployed stack from an SSM parameter.
 */

const kubeconfigAuth = z.strictObject({
  /** Path of a kubeconfig file; relative paths are relative to the config file. */
  path: requiredString('the kubeconfig path'),
  context: z.string().min(1, { error: 'required: the context to use' }).optional(),
});

/**
 * An API server the coordinator sends a bearer token to: https only, since plain http would send the
 * token in the clear and check no CA (z.url alone takes any scheme).
 */
const apiServerUrl = z.url({ protocol: /^https$/, error: 'must be the https:// URL of the API server' });

const eksAuth = z.strictObject({
  /** The EKS cluster name; the token is a presigned STS GetCallerIdentity for it. */
  name: requiredString('the EKS cluster name'),
  region: requiredString('the AWS region'),
  /** API server URL and CA; when absent, read with eks:DescribeCluster. */
  endpoint: apiServerUrl.optional(),
  caData: z.string().min(1).optional(),
});

const tokenAuth = z
  .strictObject({
    server: apiServerUrl,
    caData: requiredString('the base64 PEM of the cluster CA'),
    secretArn: z
      .string()
      .startsWith('arn:aws:secretsmanager:', { error: 'must be a Secrets Manager ARN' })
      .optional(),
    ssmParameter: z
      .string()
      .startsWith('/', { error: 'must be an SSM parameter name starting with /' })
      .optional(),
  })
  .refine((auth) => (auth.secretArn === undefined) !== (auth.ssmParameter === undefined), {
    error: 'set exactly one of secretArn or ssmParameter',
  });

/**
 * Who may call the HTTP API for this cluster: holders of a bearer token (stored as its SHA-256, so
 * the config holds no secret) or IAM principals, who sign their requests to the API's `/iam/`
 * routes (docs/clusters.md). A cluster with neither accepts no HTTP calls; a deployed stack with no
 * callers anywhere answers every request 401.
 */
const httpCallers = z.strictObject({
  tokenSha256: z
    .array(z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be the hex SHA-256 of a bearer token' }))
    .default([]),
  iamPrincipalArns: z
    .array(
      z.string().regex(IAM_PRINCIPAL_ARN, {
        error:
          'must be an IAM role or user ARN: arn:aws:iam::ACCOUNT:role/NAME or arn:aws:iam::ACCOUNT:user/NAME',
      }),
    )
    .default([]),
});

/**
 * How a live holder is asked to yield to a better candidate (docs/clusters.md, "Preemption"). Auto:
 * PreferredHolder where the holder's cluster keeps spec.preferredHolder, Revoke where it drops it
 * (the CoordinatedLeaderElection gate is off).
 */
const preemption = z.enum(['Auto', 'PreferredHolder', 'Revoke', 'Never'], {
  error: 'must be Auto, PreferredHolder, Revoke or Never',
});

/**
 * A cluster is reached through exactly one of kubeconfig, eks or token, or not at all: an
 * HTTP-only cluster (only `httpCallers`) names a set of candidates that heartbeat over HTTP and
 * read their Lease from our API. Ingest, the mirror and the sweep leave such a cluster alone.
 */
const cluster = z
  .strictObject({
    name: namedString(dns1123Label, 'a cluster name'),
    /** For the leases whose holder lives here; a lease group's own setting comes first. */
    preemption: preemption.optional(),
    httpCallers: httpCallers.optional(),
    kubeconfig: kubeconfigAuth.optional(),
    eks: eksAuth.optional(),
    token: tokenAuth.optional(),
  })
  .refine((c) => kubeAccessCount(c) <= 1, { error: 'set at most one of kubeconfig, eks or token' })
  .refine((c) => kubeAccessCount(c) === 1 || c.httpCallers !== undefined, {
    error:
      'set one of kubeconfig, eks or token, or httpCallers alone for a cluster whose candidates reach the coordinator only over HTTP',
  });

function kubeAccessCount(c: { kubeconfig?: unknown; eks?: unknown; token?: unknown }): number {
  return [c.kubeconfig, c.eks, c.token].filter((a) => a !== undefined).length;
}

/** Whether the coordinator reads and writes this cluster's Kubernetes API (false: HTTP-only). */
export function hasKubeAccess(c: ClusterConfig): boolean {
  return kubeAccessCount(c) === 1;
}

const leaseGroup = z.strictObject({
  namespace: namedString(dns1123Label, 'the Lease namespace'),
  name: namedString(dns1123Subdomain, 'the Lease name'),
  clusters: z
    .array(namedString(dns1123Label, 'a cluster name'))
    .min(2, { error: 'a lease group spans at least 2 clusters' }),
  /**
   * When the holder looks expired but its cluster cannot be read: Wait (keep the holder until its
   * cluster answers; never two leaders) or TakeOver (fail over to another cluster's candidate; the
   * old holder may lead again for seconds when its cluster returns). lib/coordinator/confirm-takeover.ts.
   */
  holderClusterUnreachable: z
    .enum(['Wait', 'TakeOver'], { error: 'must be Wait or TakeOver' })
    .default('Wait'),
  /** Unset: the holder's cluster's setting, else Auto. */
  preemption: preemption.optional(),
});

/** A list key given as something else, or (when it is required) not at all: named as the list it must be. */
function listError(missing: string | undefined, items: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined && missing !== undefined ? missing : `must be a list of ${items}`;
}

const configSchema = z
  .strictObject({
    clusters: z
      .array(cluster, { error: listError('required: the clusters to coordinate, a list', 'clusters') })
      .min(1, { error: 'list at least one cluster' }),
    leaseGroups: z.array(leaseGroup, { error: listError(undefined, 'lease groups') }).default([]),
  })
  .superRefine((config, ctx) => {
    const names = new Set<string>();
    const httpOnly = new Set(config.clusters.filter((c) => !hasKubeAccess(c)).map((c) => c.name));
    config.clusters.forEach((c, i) => {
      if (names.has(c.name))
        ctx.addIssue({
          code: 'custom',
          path: ['clusters', i, 'name'],
          message: `duplicate cluster "${c.name}"`,
        });
      names.add(c.name);
    });
    const claimed = new Map<string, number>();
    config.leaseGroups.forEach((group, i) => {
      group.clusters.forEach((name, j) => {
        if (!names.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['leaseGroups', i, 'clusters', j],
            message: `unknown cluster "${name}"`,
          });
        }
        if (httpOnly.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['leaseGroups', i, 'clusters', j],
            message: `cluster "${name}" is HTTP-only (no kubeconfig, eks or token): a lease group's Lease is written into each of its clusters`,
          });
        }
        const lease = `${name}/${group.namespace}/${group.name}`;
        const other = claimed.get(lease);
        if (other !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['leaseGroups', i, 'clusters', j],
            message: `lease ${group.namespace}/${group.name} in cluster "${name}" is already in leaseGroups[${other}]`,
          });
        }
        claimed.set(lease, i);
      });
    });
  });

export type ClustersConfig = z.output<typeof configSchema>;
/** One cluster's `httpCallers` as its YAML holds it (before defaults). */
export type HttpCallersConfig = z.input<typeof httpCallers>;
export type ClusterConfig = ClustersConfig['clusters'][number];

/** Validates a parsed config document; errors name the field, e.g. `clusters[1].eks.region`. */
export function parseClustersConfig(document: unknown): ClustersConfig {
  // An empty file parses to null: zod's "expected object, received null" would name no field.
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    throw new ConfigError(
      `invalid clusters config: must be a mapping with a clusters list (clusters: [...]), not ${document === null ? 'an empty document' : Array.isArray(document) ? 'a list' : `a ${typeof document}`}`,
    );
  const result = configSchema.safeParse(document);
  if (!result.success)
    throw new ConfigError(
      `invalid clusters config: ${toValidationError(result.error, configSchema).message}`,
    );
  return result.data;
}

export function loadClustersConfigFile(path: string): ClustersConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read clusters config ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`clusters config ${path} is not valid YAML: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseClustersConfig(document);
}
