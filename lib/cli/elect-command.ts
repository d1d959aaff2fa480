import { type LeaseObjectRef, type ParsedLease, parseLease, toLeaseObject } from '../api/lease.js';
import { type LeaseCandidateObject, parseLeaseCandidate } from '../api/leasecandidate.js';
import { reconcileStep } from '../election/reconcile.js';
import type { Candidate, Millis, StepAction } from '../election/types.js';
import { ConfigError, ValidationError } from '../errors.js';
import { describeObject, type InputObject, parseInputObjects, readInputFile } from './input.js';

/** The cluster every candidate read from a file is placed in. */
export const CLI_CLUSTER = 'local';

/** The one JSON object `elect` prints on stdout. */
export interface ElectOutput {
  readonly lease: LeaseObjectRef;
  readonly action: StepAction;
  /** Names of the candidates whose pingTime this step sets. */
  readonly ping: string[];
  /** The full Lease this step would write, or null. */
  readonly write: ReturnType<typeof toLeaseObject> | null;
  readonly requeueAfterSeconds: number;
  readonly error: string | null;
}

export interface ElectResult {
  readonly output: ElectOutput;
  /** One line per object that was left out, and why. */
  readonly warnings: string[];
}

/**
 * Dry run of one reconcile step: reads LeaseCandidates and at most one Lease from `text`,
 * runs the election once at `now`, and says what it would write. Writes nothing.
 *
 * The lease is the one named by the first valid LeaseCandidate; candidates for another lease,
 * objects that fail validation, a second Lease and other kinds are left out with a warning.
 * A candidate without metadata.creationTimestamp is taken as created at `now`, as the
 * coordinator's store does: the youngest possible, so it loses age ties to any candidate that
 * carries a timestamp.
 * Throws ConfigError when the text cannot be parsed or holds no valid LeaseCandidate.
 */
export function runElect(text: string, now: Millis): ElectResult {
  const { objects, warnings } = parseInputObjects(text);
  const candidates: Candidate[] = [];
  const leases: ParsedLease[] = [];
  let target: LeaseObjectRef | undefined;
  for (const object of objects) {
    const { kind } = object;
    if (kind === 'LeaseCandidate') {
      const parsed = validate(object, kind, parseLeaseCandidate, warnings);
      if (parsed === undefined) continue;
      const ref = { namespace: parsed.namespace, name: parsed.leaseName };
      target ??= ref;
      if (!sameRef(ref, target)) {
        warnings.push(
          `skipping LeaseCandidate ${parsed.namespace}/${parsed.name}: it is for lease ${show(ref)}, ` +
            `not ${show(target)} (the lease of the first valid LeaseCandidate)`,
        );
      } else if (candidates.some((c) => c.name === parsed.name)) {
        warnings.push(
          `skipping LeaseCandidate ${parsed.namespace}/${parsed.name}: a duplicate of an earlier one`,
        );
      } else {
        candidates.push(toCandidate(parsed, now));
      }
    } else if (kind === 'Lease') {
      const parsed = validate(object, kind, parseLease, warnings);
      if (parsed !== undefined) leases.push(parsed);
    } else {
      warnings.push(`ignoring ${describeObject(object)}: not a LeaseCandidate or Lease`);
    }
  }
  if (target === undefined) {
    throw new ConfigError(
      ['no valid LeaseCandidate in the input', ...warnings.map((w) => `  ${w}`)].join('\n'),
    );
  }
  const lease = pickLease(leases, target, warnings);
  const step = reconcileStep({ lease: lease?.record, candidates, now });
  const output: ElectOutput = {
    lease: { namespace: target.namespace, name: target.name },
    action: step.action,
    ping: step.ping.map((c) => c.name),
    write: step.write === null ? null : toLeaseObject(target, step.write),
    requeueAfterSeconds: step.requeueAfterMs / 1000,
    error: step.error,
  };
  return { output, warnings };
}

/** Reads FILE and runs {@link runElect}; a ConfigError names the file. */
export async function electFile(path: string, now: Millis): Promise<ElectResult> {
  const text = await readInputFile(path);
  try {
    return runElect(text, now);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(`--file ${path}: ${error.message}`, { cause: error });
  }
}

/** The first valid Lease for the target lease is used; every other Lease is reported. */
function pickLease(
  leases: readonly ParsedLease[],
  target: LeaseObjectRef,
  warnings: string[],
): ParsedLease | undefined {
  let chosen: ParsedLease | undefined;
  for (const lease of leases) {
    if (!sameRef(lease, target)) {
      warnings.push(`ignoring Lease ${show(lease)}: the LeaseCandidates are for lease ${show(target)}`);
    } else if (chosen !== undefined) {
      warnings.push(`ignoring Lease ${show(lease)}: a second Lease; only the first one is read`);
    } else {
      chosen = lease;
    }
  }
  return chosen;
}

function toCandidate(object: LeaseCandidateObject, now: Millis): Candidate {
  return { ...object, cluster: CLI_CLUSTER, creationTimestamp: object.creationTimestamp ?? now };
}

/** Runs a parser; on a ValidationError names the object and the reason, and returns undefined. */
function validate<T>(
  object: InputObject,
  kind: string,
  parse: (input: unknown) => T,
  warnings: string[],
): T | undefined {
  try {
    return parse(object.value);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    warnings.push(`skipping ${describeObject(object, kind)}: ${error.message}`);
    return undefined;
  }
}

function sameRef(a: LeaseObjectRef, b: LeaseObjectRef): boolean {
  return a.namespace === b.namespace && a.name === b.name;
}

function show(ref: LeaseObjectRef): string {
  return `${ref.namespace}/${ref.name}`;
}
