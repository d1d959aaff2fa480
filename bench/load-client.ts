import { Agent, request } from 'node:http';

export type Outcome = 'ok' | 'conflict' | 'client-error' | 'server-error' | 'network-error';

/** Sends JSON over a bounded pool of keep-alive connections; the body is read and discarded. */
export class KeepAliveClient {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(baseUrl: string, connections: number) {
    this.url = new URL(baseUrl);
    this.agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  }

  post(path: string, body: string): Promise<{ status: number; error?: Error }> {
    return this.send('POST', path, body);
  }

  send(method: string, path: string, body: string): Promise<{ status: number; error?: Error }> {
    return new Promise((resolve) => {
      const req = request(
        {
          agent: this.agent,
          host: this.url.hostname,
          port: this.url.port,
          method,
          path,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          timeout: 30_000,
        },
        (res) => {
          res.resume();
          res.once('end', () => resolve({ status: res.statusCode ?? 0 }));
          res.once('error', (error) => resolve({ status: 0, error }));
        },
      );
      req.once('timeout', () => req.destroy(new Error('request timed out after 30 s')));
      req.once('error', (error) => resolve({ status: 0, error }));
      req.end(body);
    });
  }

  /** Sockets open right now (in use plus idle). */
  openSockets(): number {
    const count = (sockets: NodeJS.ReadOnlyDict<unknown[]>) =>
      Object.values(sockets).reduce((s, list) => s + (list?.length ?? 0), 0);
    return count(this.agent.sockets) + count(this.agent.freeSockets);
  }

  close(): void {
    this.agent.destroy();
  }
}

export function classify(status: number): Outcome {
  if (status === 200 || status === 201) return 'ok';
  if (status === 409) return 'conflict';
  if (status >= 400 && status < 500) return 'client-error';
  if (status >= 500) return 'server-error';
  return 'network-error';
}
