/** The program the agent stands for, as its health endpoint reports it. */
export type Health = { readonly healthy: true } | { readonly healthy: false; readonly problem: string };

export type HealthProbe = () => Promise<Health>;

/**
 * Short: a ping is answered within the coordinator's 5 s window only if the probe and the write
 * both fit in it, and a program that takes longer than this to say it is well is not.
 */
export const HEALTH_TIMEOUT_MS = 1_000;

/** GET the URL: any 2xx is healthy; another status, an error or no answer in time is not. */
export function httpHealthProbe(url: URL, timeoutMs = HEALTH_TIMEOUT_MS): HealthProbe {
  return async () => {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
      // The body is not read: drop it so the connection is freed.
      await response.body?.cancel();
      return response.status >= 200 && response.status < 300
        ? { healthy: true }
        : { healthy: false, problem: `${url.href} answered ${response.status}` };
    } catch (error) {
      const reason =
        error instanceof Error && error.name === 'TimeoutError'
          ? `no answer within ${timeoutMs} ms`
          : error instanceof Error
            ? ((error.cause as Error | undefined)?.message ?? error.message)
            : String(error);
      return { healthy: false, problem: `${url.href}: ${reason}` };
    }
  };
}

/** Without --health-url the agent vouches for the program as long as it runs itself (a sidecar dies with its pod). */
export const alwaysHealthy: HealthProbe = async () => ({ healthy: true });
