import pRetry from 'p-retry';
import { ClusterTimeoutError } from '../errors.js';

/** An apiserver that accepts connections but does not answer (shutting down, partitioned) must not hold us. */
const REQUEST_TIMEOUT_MS = 10_000;

function withTimeout<T>(cluster: string, call: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ClusterTimeoutError(cluster, REQUEST_TIMEOUT_MS)),
      REQUEST_TIMEOUT_MS,
    );
  });
  return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A kept connection the apiserver closed just as we reused it fails with a reset before the
 * request was read. Every call here is safe to send again: reads, and writes guarded by a
 * resourceVersion, a precondition or a `test` (a write that did land comes back as a conflict).
 */
function isConnectionReset(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

/** One apiserver call: bounded by REQUEST_TIMEOUT_MS, and sent once more after a connection reset. */
export function request<T>(cluster: string, call: () => Promise<T>): Promise<T> {
  return pRetry(() => withTimeout(cluster, call()), {
    retries: 1,
    minTimeout: 0,
    shouldRetry: isConnectionReset,
  });
}
