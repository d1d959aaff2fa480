import { FENCED_HOLDER, parseLease, REVOKED_HOLDER, TERM_ANNOTATION } from '../api/lease.js';
import { formatMicroTime, subMillisecond } from '../api/time.js';
import { CoordinatorError, HttpOnlyClusterError } from '../errors.js';
import type {
  ClusterSource,
  HolderLeaseFence,
  HolderLeaseReader,
  HolderTakenOff,
  JsonPatchOperation,
  ObjectRef,
  RawObject,
  RevokeTouched,
} from '../ports/cluster.js';
import { viewOf } from './desired-lease.js';

/**
 * HolderLeaseReader over the registered clusters: one GET of the Lease in the named cluster. An
 * HTTP-only cluster has no Lease: its candidates read theirs from our API, so there is nothing
 * there to confirm or adopt (not an unreachable cluster, which would hold a takeover up). The
 * registry says so with HttpOnlyClusterError, through any wrapper (DecisionReads) around it.
 */
export function holderLeaseReader(clusters: ClusterSource): HolderLeaseReader {
  return async (cluster, key) => {
    let client: Awaited<ReturnType<ClusterSource['get']>>;
    try {
      client = await clusters.get(cluster);
    } catch (error) {
      if (error instanceof HttpOnlyClusterError) return undefined;
      throw error;
    }
    const raw = await client.readLease({ namespace: key.namespace, name: key.name });
    if (raw === undefined) return { cluster, absent: true };
    let record: ReturnType<typeof parseLease>['record'];
    try {
      record = parseLease(raw).record;
    } catch (error) {
      if (error instanceof CoordinatorError) return undefined;
      throw error;
    }
    if (record.renewTime === undefined || record.leaseDurationSeconds === undefined) return undefined;
    const { term: shownTerm, renewTimeOurs, fenced } = viewOf(raw as Parameters<typeof viewOf>[0]);
    const revoked = record.holderIdentity === REVOKED_HOLDER;
    const resourceVersion = raw.metadata?.resourceVersion;
    return {
      cluster,
      ...(resourceVersion !== undefined && { resourceVersion }),
      ...(raw.metadata?.annotations !== undefined && { annotated: true }),
      // A revoke of ours names no holder; its stamp is our clock's (planRevoke).
      holderIdentity: revoked ? '' : (record.holderIdentity ?? ''),
      ...(revoked && { revokedAt: record.renewTime }),
      ...(fenced === true && { fenced: true }),
      leaseDurationSeconds: record.leaseDurationSeconds,
      renewTime: record.renewTime,
      ...(subMillisecond((raw.spec as { renewTime?: string } | undefined)?.renewTime) && {
        subMillisecond: true,
      }),
      ...(shownTerm !== undefined && { shownTerm }),
      ...(renewTimeOurs !== undefined && { renewTimeOurs }),
    };
  };
}

/**
 * HolderLeaseFence over the registered clusters: one JSON Patch whose `test` of the resourceVersion
 * read makes it a compare-and-set on that read. It leaves the Lease naming FENCED_HOLDER, with the
 * holder's lease duration, stamped now, under the term on record. We read that as no holder: the
 * mirror leaves it as it is until a decision with a new term (docs/design.md, rule 4), and ingest
 * takes it for our own write under the term on record, not the holder's release (lease-rules.ts;
 * under a term the record lacks, a placeholder holding). A legacy elector reads it as a live holder that just changed, and
 * waits a lease duration, where it would take an empty Lease at once. Our revoke is only touched
 * (HolderLeaseFencing.revoke): it keeps the holder off, and a decision that keeps the holder after
 * all takes it back under its term (withdrawn-revoke.ts), which a release would not.
 */
export function holderLeaseFence(clusters: ClusterSource): HolderLeaseFence {
  return async (cluster, key, fencing) => {
    const client = await clusters.get(cluster);
    const ref = { namespace: key.namespace, name: key.name };
    const result =
      fencing.revoke === true
        ? await client.patchLease(ref, touchOperations(fencing))
        : fencing.resourceVersion === undefined
          ? await client.createLease(fencedLease(ref, fencing))
          : await client.patchLease(ref, fenceOperations(fencing.resourceVersion, fencing));
    return result.ok;
  };
}

/**
 * The fence of a Lease read absent: created as the patch below leaves one, so that a mirror pass
 * that writes the holder's Lease meanwhile (a decision from before, the sweep) makes it fail, and
 * the holder's renewal of that Lease is found on the read that follows.
 */
function fencedLease(ref: ObjectRef, { term, at, leaseDurationSeconds }: HolderTakenOff): RawObject {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      ...ref,
      ...(term !== undefined && { annotations: { [TERM_ANNOTATION]: String(term) } }),
    },
    spec: { holderIdentity: FENCED_HOLDER, leaseDurationSeconds, renewTime: formatMicroTime(at) },
  };
}

/**
 * The revoke's acquireTime is its stamp or older, a lease duration and more before any fence, so
 * the record client-go compares (to the second) changes.
 */
function touchOperations({ resourceVersion, at }: RevokeTouched): JsonPatchOperation[] {
  return [
    { op: 'test', path: '/metadata/resourceVersion', value: resourceVersion },
    { op: 'add', path: '/spec/acquireTime', value: formatMicroTime(at) },
  ];
}

function fenceOperations(
  resourceVersion: string,
  { term, annotated, at, leaseDurationSeconds }: HolderTakenOff,
): JsonPatchOperation[] {
  const stamp = formatMicroTime(at);
  return [
    { op: 'test', path: '/metadata/resourceVersion', value: resourceVersion },
    { op: 'add', path: '/spec/holderIdentity', value: FENCED_HOLDER },
    { op: 'add', path: '/spec/leaseDurationSeconds', value: leaseDurationSeconds },
    { op: 'add', path: '/spec/renewTime', value: stamp },
    ...(term === undefined ? [] : [termOperation(term, annotated === true)]),
  ];
}

/**
 * Our term on the fenced Lease, always: without it ingest could not tell the fence under the term on
 * record from one a later decision replaces (lease-rules.ts), and the mirror would not leave it alone
 * (heldAndReleased). A Lease without annotations gets the map; the resourceVersion test above makes
 * sure it still has none.
 */
function termOperation(term: number, annotated: boolean): JsonPatchOperation {
  return annotated
    ? {
        op: 'add',
        path: `/metadata/annotations/${TERM_ANNOTATION.replaceAll('/', '~1')}`,
        value: String(term),
      }
    : { op: 'add', path: '/metadata/annotations', value: { [TERM_ANNOTATION]: String(term) } };
}
