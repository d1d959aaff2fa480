import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createInterface } from 'node:readline';
import { CoordinatorError } from '../errors.js';
import type { ApiserverAccess } from './apiserver-access.js';
import { request as bounded } from './request.js';

/** The apiserver answered with an error status; `code` is the HTTP status (404, 409, …). */
export class ApiStatusError extends CoordinatorError {
  constructor(
    readonly code: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: the apiserver answered ${code}: ${body.slice(0, 300)}`, { retryable: code >= 500 });
  }
}

export interface WatchEvent {
  readonly type: string;
  readonly object: Record<string, unknown>;
}

/**
 * The few apiserver calls the agent and the coordinator's cluster port (cluster.ts) make, over
 * node:http(s) with one kept-alive connection pool: JSON in and out, bounded by the request timeout
 * and sent once more after a connection reset (lib/kube/request.ts), and a watch read line by line.
 * What the full Kubernetes client (@kubernetes/client-node) would add (1.2 MB of bundle, 0.2 s of
 * start-up and 30 MB of memory per agent sidecar; for the Lambda bundles, cluster.ts) neither uses.
 */
export class Apiserver {
  private readonly agent: HttpAgent;

  constructor(private readonly access: ApiserverAccess) {
    const secure = access.server.protocol === 'https:';
    this.agent = secure
      ? new HttpsAgent({ keepAlive: true, ...access.tls })
      : new HttpAgent({ keepAlive: true });
  }

  /** One call; resolves with the JSON answer, rejects with ApiStatusError on a status >= 400. */
  async call(
    method: string,
    path: string,
    options: { query?: Record<string, string>; body?: unknown; contentType?: string } = {},
  ): Promise<unknown> {
    return bounded(this.access.name, async () => {
      const response = await this.send(method, path, options);
      const text = await readAll(response);
      const status = response.statusCode ?? 0;
      if (status >= 400) throw new ApiStatusError(status, text, `${method} ${path}`);
      return text === '' ? undefined : JSON.parse(text);
    });
  }

  /**
   * A watch: resolves once the apiserver has answered, with the controller that ends it; each event
   * goes to `onEvent`, and `onDone` is called once when the stream ends (with the error, if any).
   */
  async watch(
    path: string,
    query: Record<string, string>,
    onEvent: (event: WatchEvent) => void,
    onDone: (error: unknown) => void,
  ): Promise<AbortController> {
    const controller = new AbortController();
    const response = await bounded(this.access.name, () =>
      this.send('GET', path, { query: { ...query, watch: 'true' } }, controller.signal),
    );
    const status = response.statusCode ?? 0;
    if (status >= 400) {
      const body = await readAll(response);
      throw new ApiStatusError(status, body, `watch ${path}`);
    }
    let done = false;
    const finish = (error: unknown) => {
      if (done) return;
      done = true;
      onDone(error);
    };
    const lines = createInterface({ input: response, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on('line', (line) => {
      if (line.trim() === '' || done) return;
      try {
        onEvent(JSON.parse(line) as WatchEvent);
      } catch (error) {
        finish(error);
        controller.abort();
      }
    });
    // Every error of the stream ends the watch (readline forwards its input's errors too); our own
    // abort is one of them, and none may go unhandled.
    response.on('error', finish);
    lines.on('error', finish);
    response.once('aborted', () => finish(new Error(`watch ${path}: the connection was cut`)));
    lines.once('close', () => finish(null));
    return controller;
  }

  private async send(
    method: string,
    path: string,
    options: { query?: Record<string, string>; body?: unknown; contentType?: string },
    signal?: AbortSignal,
  ): Promise<IncomingMessage> {
    const url = new URL(path, this.access.server);
    for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = await this.access.token?.();
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    if (body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method, headers, agent: this.agent, ...(signal && { signal }) }, resolve);
      // Not once: an abort after the answer arrived errors the request again.
      req.on('error', reject);
      req.end(body);
    });
  }
}

async function readAll(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
