import { request } from 'node:https';

/**
 * How long a readiness probe waits for an answer. What listens on the port may not be the apiserver:
 * a port taken before it bound it may belong to a server that accepts and never answers.
 */
const PROBE_TIMEOUT_MS = 5_000;

/** GET with a bearer token, trusting only the given CA. Resolves with the status code. */
export function httpsGet(url: string, token: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { headers: { authorization: `Bearer ${token}` }, ca, timeout: PROBE_TIMEOUT_MS },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in ${PROBE_TIMEOUT_MS} ms`)));
    req.end();
  });
}
