import { z } from 'zod';
import type { LeaseRecord } from '../election/types.js';
import { namedString } from './fields.js';
import { parseOrThrow } from './issues.js';
import { dns1123Label, dns1123Subdomain } from './names.js';
import { strategyName } from './strategy-name.js';
import { formatMicroTime, rfc3339Time } from './time.js';

/** The fencing term is written onto every Lease we touch under this annotation. */
export const TERM_ANNOTATION = 'lease-coordinator.dev/term';

/**
 * The candidate a holder is asked to yield to, also written as an annotation: a cluster with the
 * CoordinatedLeaderElection gate off strips spec.preferredHolder from every Lease write, and
 * annotations are kept as written, so a candidate that can read it still learns of the request.
 */
export const PREFERRED_HOLDER_ANNOTATION = 'lease-coordinator.dev/preferred-holder';

/**
 * The holderIdentity a Lease carries while a preemption by revoke runs (docs/clusters.md,
 * "Preemption"): the holder is taken off, and the Lease names no process until the successor is
 * written one lease duration after the holder's last renewal. It is not empty, because a legacy
 * elector takes an empty Lease at once; and its renewTime is that last renewal (the one the revoke
 * replaced) on the coordinator's clock, no earlier than when it was committed (revokeStamp in
 * lib/sync/mirror-options.ts).
 */
export const REVOKED_HOLDER = 'lease-coordinator.dev/revoked';

/**
 * The holderIdentity a takeover's fence leaves on the old holder's Lease for the moment before the
 * successor is named there (lib/coordinator/fence-holder.ts). We read it as no holder, as the
 * holder's own release reads. It is not empty, with the holder's lease duration, because a legacy
 * elector takes an empty Lease at once and any Lease that has not changed for its lease duration:
 * this one changed, so one that sees it waits a whole lease duration more, time for the successor's
 * naming to reach the cluster. Our revoke is touched instead (HolderLeaseFencing.revoke).
 */
export const FENCED_HOLDER = 'lease-coordinator.dev/fenced';

/** A cluster's holderIdentity as we read it: our fence names nobody. */
export function holderShown(holderIdentity: string): string {
  return holderIdentity === FENCED_HOLDER ? '' : holderIdentity;
}

const TERM = /^(0|[1-9][0-9]{0,14})$/;

/**
 * The one reader of our term annotation: a non-negative integer written as String(term) writes
 * it (no sign, no leading zeros, at most 15 digits so it stays exact); undefined when the
 * annotation is absent or is anything else.
 */
export function parseTermAnnotation(text: string | undefined): number | undefined {
  return text !== undefined && TERM.test(text) ? Number(text) : undefined;
}

const nonNegativeInt = z.number().int({ error: 'must be an integer' });

/**
 * The longest holderIdentity or preferredHolder we read. The apiserver sets no bound, but we store
 * them in table items, which DynamoDB bounds (400 KB): a Lease naming one near that could never be
 * stored, and ingest would list its cluster again and again. client-go's identities are
 * `<hostname>_<uuid>`, some hundreds of characters at most, so a kilobyte is room enough.
 */
export const MAX_IDENTITY_LENGTH = 1024;
const identity = z.string().max(MAX_IDENTITY_LENGTH, {
  error: `must be at most ${MAX_IDENTITY_LENGTH} characters`,
});

const leaseSchema = z.looseObject({
  apiVersion: z.literal('coordination.k8s.io/v1', { error: 'must be "coordination.k8s.io/v1"' }),
  kind: z.literal('Lease', { error: 'must be "Lease"' }),
  metadata: z.looseObject({
    name: namedString(dns1123Subdomain, 'the Lease name'),
    namespace: namedString(dns1123Label, 'a namespace').optional(),
    annotations: z
      .record(z.string(), z.string())
      .optional()
      .refine(
        (annotations) =>
          annotations?.[TERM_ANNOTATION] === undefined ||
          parseTermAnnotation(annotations[TERM_ANNOTATION]) !== undefined,
        {
          error: `annotation ${TERM_ANNOTATION} must be a non-negative integer`,
        },
      ),
  }),
  spec: z
    .looseObject({
      holderIdentity: identity.nullish(),
      leaseDurationSeconds: nonNegativeInt.positive({ error: 'must be greater than 0' }).nullish(),
      acquireTime: rfc3339Time.nullish(),
      renewTime: rfc3339Time.nullish(),
      leaseTransitions: nonNegativeInt.min(0, { error: 'must be greater than or equal to 0' }).nullish(),
      strategy: strategyName.nullish(),
      preferredHolder: identity.nullish(),
    })
    .superRefine((spec, ctx) => {
      if (spec.preferredHolder && !spec.strategy) {
        ctx.addIssue({
          code: 'custom',
          path: ['preferredHolder'],
          message: 'may only be set when strategy is set',
        });
      }
    })
    .default({}),
});

export interface LeaseObjectRef {
  readonly namespace: string;
  readonly name: string;
}

export interface ParsedLease extends LeaseObjectRef {
  readonly record: LeaseRecord;
}

/** Validates a coordination.k8s.io/v1 Lease and reads it as the coordinator's record. */
export function parseLease(input: unknown, defaultNamespace = 'default'): ParsedLease {
  const lease = parseOrThrow(leaseSchema, input);
  const termText = lease.metadata.annotations?.[TERM_ANNOTATION];
  const { spec } = lease;
  const record: LeaseRecord = {
    term: parseTermAnnotation(termText) ?? 0,
    ...(spec.holderIdentity != null && { holderIdentity: holderShown(spec.holderIdentity) }),
    ...(spec.leaseDurationSeconds != null && { leaseDurationSeconds: spec.leaseDurationSeconds }),
    ...(spec.acquireTime != null && { acquireTime: spec.acquireTime }),
    ...(spec.renewTime != null && { renewTime: spec.renewTime }),
    ...(spec.leaseTransitions != null && { leaseTransitions: spec.leaseTransitions }),
    ...(spec.strategy != null && { strategy: spec.strategy }),
    ...(spec.preferredHolder != null &&
      spec.preferredHolder !== '' && { preferredHolder: spec.preferredHolder }),
  };
  return { namespace: lease.metadata.namespace ?? defaultNamespace, name: lease.metadata.name, record };
}

/** The Lease object a record stands for, with MicroTime at 6 digits and the term annotation. */
export function toLeaseObject(ref: LeaseObjectRef, record: LeaseRecord) {
  const spec: Record<string, unknown> = {};
  if (record.holderIdentity !== undefined) spec.holderIdentity = record.holderIdentity;
  if (record.leaseDurationSeconds !== undefined) spec.leaseDurationSeconds = record.leaseDurationSeconds;
  if (record.acquireTime !== undefined) spec.acquireTime = formatMicroTime(record.acquireTime);
  if (record.renewTime !== undefined) spec.renewTime = formatMicroTime(record.renewTime);
  if (record.leaseTransitions !== undefined) spec.leaseTransitions = record.leaseTransitions;
  if (record.strategy !== undefined) spec.strategy = record.strategy;
  if (record.preferredHolder !== undefined) spec.preferredHolder = record.preferredHolder;
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: ref.name,
      namespace: ref.namespace,
      annotations: { [TERM_ANNOTATION]: String(record.term) },
    },
    spec,
  };
}
