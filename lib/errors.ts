/**
 * The one error hierarchy. Every error the coordinator raises on purpose extends
 * CoordinatorError; `retryable` says whether trying the same thing again can succeed.
 */
export class CoordinatorError extends Error {
  readonly retryable: boolean;
  constructor(message: string, options: ErrorOptions & { retryable?: boolean } = {}) {
    super(message, options);
    this.name = new.target.name;
    this.retryable = options.retryable ?? false;
  }
}

/**
 * The message of a CoordinatorError, which the caller expects and reports; any other error is a
 * bug and is rethrown.
 */
export function messageOrRethrow(error: unknown): string {
  if (error instanceof CoordinatorError) return error.message;
  throw error;
}

/** One problem with an input, named by its path (`spec.binaryVersion`) as kubectl would. */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/** Input that fails validation. Never retryable: the same input fails the same way. */
export class ValidationError extends CoordinatorError {
  readonly issues: readonly FieldIssue[];
  constructor(issues: readonly FieldIssue[], options?: ErrorOptions) {
    super(issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '), options);
    this.issues = issues;
  }
}

/** A request body over the size limit. */
export class PayloadTooLargeError extends CoordinatorError {
  constructor(readonly limitBytes: number) {
    super(`request body is larger than ${limitBytes} bytes`);
  }
}

/** A request body sent as something other than JSON (its Content-Type header). */
export class UnsupportedMediaTypeError extends CoordinatorError {
  constructor(readonly contentType: string) {
    super(
      `header content-type: ${JSON.stringify(contentType)} is not supported: send the body as application/json`,
    );
  }
}

/** A heartbeat older than, or as old as, the one already stored. Nothing was written. */
export class StaleHeartbeatError extends CoordinatorError {
  constructor(
    message: string,
    readonly stored: unknown,
  ) {
    super(message);
  }
}

/** A compare-and-set lost to a concurrent writer. Re-read and decide again. */
export class ConflictError extends CoordinatorError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, retryable: true });
  }
}

/**
 * A conditional write whose condition did not hold: nothing was written. `item` is the item as
 * the table held it then (DynamoDB's ReturnValuesOnConditionCheckFailure: ALL_OLD; undefined when
 * there was none), so the caller can decide again without a second read. A ConflictError:
 * reading again and deciding again can succeed.
 */
export class ConditionFailedError extends ConflictError {
  constructor(
    /** The condition's name (lib/store/conditions.ts). */
    readonly condition: string,
    readonly item: Readonly<Record<string, unknown>> | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${message}: ${condition} does not hold`, options);
  }
}

/**
 * A takeover's check found on the holder's Lease what the record did not show (a renewal, or another
 * elector holding it) and recorded it (lib/coordinator/confirm-takeover.ts): read again and decide
 * again. Ingest may have taken this lease's kept steps already, so the step that follows arms its
 * own timer (lib/coordinator/lease-timer.ts).
 */
export class HolderNewsRecordedError extends ConflictError {}

/**
 * For `.catch` on a conditional write whose failed condition is an outcome the caller expects
 * (the record moved on, or the write is no longer needed): that failure becomes `outcome`; any
 * other error is rethrown.
 */
export function onConditionFailed<T>(outcome: T): (error: unknown) => T {
  return (error) => {
    if (error instanceof ConditionFailedError) return outcome;
    throw error;
  };
}

/** The candidates cannot be elected from as they are (e.g. they disagree on strategy). */
export class ElectionError extends CoordinatorError {}

/** A request that carries no credential the coordinator accepts. */
export class AuthenticationError extends CoordinatorError {}

/** A caller whose credential does not allow what it asked (e.g. another cluster's candidates). */
export class ForbiddenError extends CoordinatorError {}

/** Configuration or a command-line flag that cannot be used. */
export class ConfigError extends CoordinatorError {}

/**
 * A cluster of the config that has no Kubernetes access (only `httpCallers`): there is no Lease of
 * it to read or write. Not an outage: nothing waits for it to come back.
 */
export class HttpOnlyClusterError extends CoordinatorError {}

/** An apiserver that accepted the request but did not answer in time (lib/kube/request.ts). */
export class ClusterTimeoutError extends CoordinatorError {
  constructor(cluster: string, timeoutMs: number) {
    super(`cluster ${cluster} did not answer within ${timeoutMs} ms`, { retryable: true });
  }
}

/** A cluster that did not answer once in this batch: not asked again until the next batch (lib/sync/cluster-outages.ts). */
export class ClusterOutError extends CoordinatorError {
  constructor(cluster: string, cause: unknown) {
    super(`cluster ${cluster} did not answer earlier in this batch; not waiting on it again`, {
      cause,
      retryable: true,
    });
  }
}

/** Neither the built-in LeaseCandidate nor the CRD is served: the agent cannot register anything. */
export class CandidateApiNotServedError extends CoordinatorError {}

/** An invocation that failed as Lambda reports it: a handler error, a timeout or a crashed runtime. */
export class InvocationError extends CoordinatorError {
  constructor(
    readonly functionName: string,
    readonly errorType: string,
    message: string,
  ) {
    super(`${functionName}: ${errorType}: ${message}`, { retryable: true });
  }
}

/** Work not finished before its invocation's deadline: reported as failed, so that it comes back. */
export class OutOfTimeError extends CoordinatorError {
  constructor(message: string) {
    super(message, { retryable: true });
  }
}

/**
 * Failed timer messages whose back-off could not be set (lib/ports/schedule.ts, TimerRedelivery):
 * they come back after the queue's visibility timeout instead.
 */
export class RedeliveryError extends CoordinatorError {
  constructor(readonly failed: readonly { receiptHandle: string; reason: string }[]) {
    super(
      `cannot set the back-off of ${failed.length} timer message(s): ${failed.map((f) => `${f.receiptHandle}: ${f.reason}`).join('; ')}`,
      { retryable: true },
    );
  }
}

/** A local control plane's port was taken before it bound it: a start on fresh ports can succeed. */
export class PortTakenError extends CoordinatorError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { ...options, retryable: true });
  }
}

/** An object a cluster listed could not be stored: ingest lists that cluster again. */
export class UnstoredListError extends CoordinatorError {}
