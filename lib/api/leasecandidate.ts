import { z } from 'zod';
import type { CandidateApiVersion, Millis } from '../election/types.js';
import { CRD_CANDIDATE_API, ORDERED_STRATEGIES } from '../election/types.js';
import { compareVersions, isStrictSemver, isZeroVersion } from '../election/versions.js';
import { namedString } from './fields.js';
import { parseOrThrow } from './issues.js';
import { candidateName, dns1123Label, dns1123Subdomain } from './names.js';
import { strategyName } from './strategy-name.js';
import { rfc3339Time } from './time.js';

export const GROUP = 'coordination.k8s.io';
/** The group of the LeaseCandidate custom resource (infra/kubernetes/leasecandidate-crd.yaml). */
export const CRD_GROUP = 'coordination.lease-coordinator.dev';
export const CANDIDATE_API_VERSIONS = {
  [`${GROUP}/v1beta1`]: 'v1beta1',
  [`${GROUP}/v1alpha2`]: 'v1alpha2',
  [`${GROUP}/v1alpha1`]: 'v1alpha1',
  [CRD_CANDIDATE_API]: CRD_CANDIDATE_API,
} as const satisfies Record<string, CandidateApiVersion>;

/** Where a LeaseCandidate API is served: `/apis/{group}/{version}/…/leasecandidates`. */
export interface CandidateApi {
  readonly group: string;
  readonly version: string;
  /** The objects' apiVersion, `group/version`. */
  readonly apiVersion: string;
}

export function candidateApiOf(version: CandidateApiVersion): CandidateApi {
  if (version === CRD_CANDIDATE_API)
    return { group: CRD_GROUP, version: 'v1', apiVersion: CRD_CANDIDATE_API };
  return { group: GROUP, version, apiVersion: `${GROUP}/${version}` };
}

/** A LeaseCandidate that passed the apiserver's validation, in any served version. */
export interface LeaseCandidateObject {
  readonly apiVersion: CandidateApiVersion;
  readonly name: string;
  readonly namespace: string;
  readonly leaseName: string;
  readonly binaryVersion: string;
  readonly emulationVersion: string;
  readonly strategy: string;
  readonly preferredStrategies?: readonly string[];
  readonly creationTimestamp?: Millis;
  readonly renewTime?: Millis;
  readonly pingTime?: Millis;
  /** metadata.resourceVersion, when the object came from a cluster. */
  readonly resourceVersion?: string;
}

const SEMVER_MESSAGE = 'must be a semantic version MAJOR.MINOR.PATCH such as 1.31.0, without a leading "v"';
/** Optional versions: empty means "not set", as the apiserver reads it. */
const optionalSemver = z
  .string({ error: 'must be a string' })
  .refine((value) => value === '' || isStrictSemver(value), { error: SEMVER_MESSAGE })
  .optional();

/**
 * Empty or 0.0.0, as the apiserver reads an unset version. A value that is no version at all is
 * not "unset": it has its own message, and "required" beside it would contradict it.
 */
function isUnsetVersion(value: string): boolean {
  return value === '' || (isStrictSemver(value) && isZeroVersion(value));
}

const metadata = z.looseObject({
  name: namedString(candidateName, 'the candidate name'),
  namespace: namedString(dns1123Label, 'a namespace').optional(),
  creationTimestamp: rfc3339Time.optional(),
  resourceVersion: z.string().optional(),
});

const commonSpec = {
  leaseName: namedString(dns1123Subdomain, 'the name of the Lease this candidate competes for'),
  pingTime: rfc3339Time.nullish(),
  renewTime: rfc3339Time.nullish(),
};

/**
 * v1alpha2 and v1beta1 share one schema (docs/design.md, U2), and so does the custom
 * resource, whose spec is v1beta1's.
 */
const singleStrategySpec = z
  .looseObject({
    ...commonSpec,
    binaryVersion: z
      .string({ error: 'required: the binary version' })
      .min(1, { error: 'required: the binary version', abort: true })
      .refine(isStrictSemver, { error: SEMVER_MESSAGE }),
    emulationVersion: optionalSemver,
    strategy: strategyName,
  })
  .superRefine((spec, ctx) => {
    const ev = spec.emulationVersion ?? '';
    if (ORDERED_STRATEGIES.has(spec.strategy) && isUnsetVersion(ev)) {
      ctx.addIssue({
        code: 'custom',
        path: ['emulationVersion'],
        message: `required when strategy is ${spec.strategy}`,
      });
    }
    // Only two valid versions can be compared; an invalid one already has its own message.
    if (
      isStrictSemver(ev) &&
      isStrictSemver(spec.binaryVersion) &&
      compareVersions(spec.binaryVersion, ev) < 0
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['binaryVersion'],
        message: `must be greater than or equal to emulationVersion (${ev})`,
      });
    }
  });

/**
 * The longest strategy list we read. The apiserver sets no bound, but the list is stored in the
 * candidate's table item, which DynamoDB bounds (400 KB, some 1,200 of the longest names): one
 * longer could never be stored, and ingest would list its cluster again and again.
 */
export const MAX_PREFERRED_STRATEGIES = 100;

/** v1alpha1 (1.31): versions optional, an ordered strategy list instead of one strategy. */
const preferredStrategiesSpec = z
  .looseObject({
    ...commonSpec,
    binaryVersion: optionalSemver,
    emulationVersion: optionalSemver,
    preferredStrategies: z
      .array(strategyName, { error: 'required: a list of strategy names' })
      .min(1, { error: 'must list at least one strategy' })
      .max(MAX_PREFERRED_STRATEGIES, { error: `must list at most ${MAX_PREFERRED_STRATEGIES} strategies` }),
  })
  .superRefine((spec, ctx) => {
    const ev = spec.emulationVersion ?? '';
    const bv = spec.binaryVersion ?? '';
    if (spec.preferredStrategies.some((s) => ORDERED_STRATEGIES.has(s))) {
      if (bv === '')
        ctx.addIssue({
          code: 'custom',
          path: ['binaryVersion'],
          message: 'required when preferredStrategies includes OldestEmulationVersion',
        });
      if (isUnsetVersion(ev))
        ctx.addIssue({
          code: 'custom',
          path: ['emulationVersion'],
          message: 'required when preferredStrategies includes OldestEmulationVersion',
        });
    }
    if (isStrictSemver(ev) && isStrictSemver(bv) && compareVersions(bv, ev) < 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['binaryVersion'],
        message: `must be greater than or equal to emulationVersion (${ev})`,
      });
    }
  });

const envelope = z.looseObject(
  {
    apiVersion: z.enum(Object.keys(CANDIDATE_API_VERSIONS) as [string, ...string[]], {
      error: `must be one of ${Object.keys(CANDIDATE_API_VERSIONS).join(', ')}`,
    }),
    kind: z.literal('LeaseCandidate', { error: 'must be "LeaseCandidate"' }),
    metadata: z.unknown(),
    spec: z.unknown(),
  },
  { error: 'must be a LeaseCandidate object' },
);

function objectSchema(spec: typeof singleStrategySpec | typeof preferredStrategiesSpec) {
  return z.looseObject({ metadata: z.unknown().pipe(metadata), spec: z.unknown().pipe(spec) });
}

// Built once: zod compiles a schema on its first parse, and a schema built per call (once per
// heartbeat) paid that again every time.
const withPreferredStrategies = objectSchema(preferredStrategiesSpec);
const withSingleStrategy = objectSchema(singleStrategySpec);

function schemaFor(apiVersion: CandidateApiVersion) {
  return apiVersion === 'v1alpha1' ? withPreferredStrategies : withSingleStrategy;
}

/**
 * Validates a LeaseCandidate object as the apiserver would and normalises it. Throws
 * ValidationError naming every bad field.
 */
export function parseLeaseCandidate(input: unknown, defaultNamespace = 'default'): LeaseCandidateObject {
  const head = parseOrThrow(envelope, input);
  const apiVersion = CANDIDATE_API_VERSIONS[head.apiVersion as keyof typeof CANDIDATE_API_VERSIONS];
  const { metadata: meta, spec } = parseOrThrow(schemaFor(apiVersion), input);
  // Only v1alpha1 has a (validated) list; a stray preferredStrategies on a newer object is ignored.
  const preferred =
    apiVersion === 'v1alpha1' && 'preferredStrategies' in spec
      ? (spec.preferredStrategies as string[])
      : undefined;
  return {
    apiVersion,
    name: meta.name,
    namespace: meta.namespace ?? defaultNamespace,
    leaseName: spec.leaseName,
    binaryVersion: spec.binaryVersion ?? '',
    emulationVersion: spec.emulationVersion ?? '',
    strategy: preferred !== undefined ? (preferred[0] as string) : (spec as { strategy: string }).strategy,
    ...(preferred !== undefined && { preferredStrategies: preferred }),
    ...(meta.creationTimestamp !== undefined && { creationTimestamp: meta.creationTimestamp }),
    ...(spec.renewTime != null && { renewTime: spec.renewTime }),
    ...(spec.pingTime != null && { pingTime: spec.pingTime }),
    ...(meta.resourceVersion !== undefined && { resourceVersion: meta.resourceVersion }),
  };
}
