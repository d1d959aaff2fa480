import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import type { ControlPlane } from '../kube-local/control-plane.js';
import { kube } from './kube-admin.js';
import { type Exit, type LaunchedProcess, launch } from './launcher.js';

/** One structured log line of the agent (powertools Logger: message, level, and the extra keys). */
export type AgentLine = Record<string, unknown> & { message: string; level: string };

/** The bundled agent run with plain `node`, and every log line it printed on stdout and stderr. */
export class AgentProcess {
  readonly lines: AgentLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<Exit>;
  private readonly child: LaunchedProcess;
  private waiters: (() => void)[] = [];

  /** `node`: the executable that runs it (this one's unless a test picks another release). */
  constructor(bundle: string, args: readonly string[], node = process.execPath) {
    this.child = launch(node, [bundle, ...args], {
      stderr: 'lines',
      onLine: (line) => this.onLine(line),
      onExit: () => this.wake(),
    });
    this.exited = this.child.exited();
  }

  private onLine(line: string): void {
    try {
      this.lines.push(JSON.parse(line) as AgentLine);
    } catch {
      this.stderr.push(line);
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Waits, line by line, until `count` lines since line `from` match; fails if the agent exits first. */
  async lineCount(match: (line: AgentLine) => boolean, count: number, from = 0): Promise<AgentLine[]> {
    for (;;) {
      const found = this.lines.slice(from).filter(match);
      if (found.length >= count) return found;
      if (!this.child.running)
        throw new Error(`the agent exited before ${count} matching lines:\n${this.output()}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  output(): string {
    return [...this.lines.map((l) => JSON.stringify(l)), ...this.stderr].join('\n');
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }

  /** For cleanup: SIGKILL if it still runs. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** A stand-in for the elector's health endpoint: answers `status`, counts requests. */
export class HealthEndpoint {
  status = 200;
  requests = 0;
  private waiters: (() => void)[] = [];
  private constructor(private readonly server: Server) {}

  /** Resolves once `count` more requests have been answered. */
  async moreRequests(count: number): Promise<void> {
    const target = this.requests + count;
    while (this.requests < target) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  static async start(): Promise<HealthEndpoint> {
    let endpoint: HealthEndpoint | undefined;
    const server = createServer((_req, res) => {
      if (endpoint === undefined) return;
      endpoint.requests++;
      res.writeHead(endpoint.status).end();
      for (const wake of endpoint.waiters.splice(0)) wake();
    });
    endpoint = new HealthEndpoint(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return endpoint;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/healthz`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export function adminConfig(kubeconfigPath: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return kc;
}

type Raw = { metadata: { name: string; resourceVersion: string }; spec: Record<string, unknown> };

/**
 * Watches one namespaced object (list, then watch from the list's resourceVersion) until `check`
 * holds for it (undefined: absent). Resolves with what it last saw.
 */
export async function awaitObject(
  config: KubeConfig,
  plane: ControlPlane,
  collection: string,
  name: string,
  check: (object: Raw | undefined) => boolean,
): Promise<Raw | undefined> {
  const list = await kube(plane, 'GET', `${collection}?fieldSelector=metadata.name%3D${name}`);
  if (list.status !== 200)
    throw new Error(`listing ${collection}: ${list.status} ${JSON.stringify(list.json)}`);
  const items = (list.json as { items: Raw[] }).items;
  const first = items[0];
  if (check(first)) return first;
  const rv = (list.json as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  return new Promise((resolve, reject) => {
    let controller: AbortController | undefined;
    let settled = false;
    const finish = (object: Raw | undefined) => {
      settled = true;
      controller?.abort();
      resolve(object);
    };
    new Watch(config)
      .watch(
        collection,
        { fieldSelector: `metadata.name=${name}`, resourceVersion: rv },
        (phase, object: Raw) => {
          if (settled) return;
          const current = phase === 'DELETED' ? undefined : object;
          if (check(current)) finish(current);
        },
        (error) => {
          if (!settled) reject(new Error(`the watch of ${collection}/${name} ended: ${String(error)}`));
        },
      )
      .then((c) => {
        controller = c;
        if (settled) c.abort();
      }, reject);
  });
}
