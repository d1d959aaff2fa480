import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

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
      const status = await statusOf(url, timeoutMs);
      return status >= 200 && status < 300
        ? { healthy: true }
        : { healthy: false, problem: `${url.href} answered ${status}` };
    } catch (error) {
      const reason =
        error instanceof HealthTimeout
          ? `no answer within ${timeoutMs} ms`
          : error instanceof Error
            ? error.message
            : String(error);
      return { healthy: false, problem: `${url.href}: ${reason}` };
    }
  };
}

class HealthTimeout extends Error {}

/**
 * One GET over node:http(s), as the agent's apiserver requests go, not fetch: the first fetch in a
 * process loads its HTTP client (undici), which cost the agent's start-up more CPU than everything
 * else between its start and its first write on a busy machine. A redirect is not followed; the
 * body is dropped, and the connection closed.
 */
function statusOf(url: URL, timeoutMs: number): Promise<number> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(url, { method: 'GET', agent: false }, (response) => {
      clearTimeout(timer);
      resolve(response.statusCode ?? 0);
      response.destroy();
    });
    const timer = setTimeout(() => request.destroy(new HealthTimeout()), timeoutMs);
    // Kept on: a late error after the answer (the dropped body) must not go unheard.
    request.on('error', reject);
    request.end();
  });
}

/**
 * The program's health asked for at once, as the agent starts, beside its discovery, list and watch
 * (before, the first question waited for all three): a healthy first answer is used for the first
 * write. Any other is asked again when that write is due, so a program that came up meanwhile (the
 * agent as a native sidecar starts before it) is not held back by an answer from before.
 */
export function askedEarly(probe: HealthProbe): HealthProbe {
  let early: Promise<Health> | undefined = probe();
  return async () => {
    const pending = early;
    early = undefined;
    const answer = await pending;
    return answer?.healthy === true ? answer : probe();
  };
}

/** Without --health-url the agent vouches for the program as long as it runs itself (a sidecar dies with its pod). */
export const alwaysHealthy: HealthProbe = async () => ({ healthy: true });
