import { type ClusterConfig, type ClustersConfig, hasKubeAccess } from '../clusters/config.js';
import { HttpOnlyClusterError } from '../errors.js';
import type { ClusterPort } from '../ports/cluster.js';
import { KubeCluster } from './cluster.js';
import { accessFor } from './kubeconfig.js';

/** Bearer tokens from EKS, Secrets Manager or SSM are re-read this often (EKS tokens live 15 min). */
const TOKEN_CLIENT_MAX_AGE_MS = 10 * 60_000;

/** Builds a cluster's client; `index` is its place in the config's clusters, which errors name. */
export type ClusterFactory = (cluster: ClusterConfig, index: number) => Promise<ClusterPort>;

/**
 * The registered clusters' clients, built on first use and kept while their credentials are fresh.
 * Only clusters the coordinator can reach over Kubernetes are registered: an HTTP-only cluster of
 * the config (only `httpCallers`) has no client, is not watched, and has no Lease to write.
 */
export class ClusterRegistry {
  private readonly clients = new Map<string, { client: Promise<ClusterPort>; builtAt: number }>();
  private readonly byName: Map<string, { config: ClusterConfig; index: number }>;
  private readonly httpOnlyNames: ReadonlySet<string>;

  constructor(
    config: ClustersConfig,
    private readonly factory: ClusterFactory = defaultFactory(process.cwd()),
    private readonly now: () => number = Date.now,
  ) {
    this.byName = new Map(
      config.clusters.flatMap((c, index) => (hasKubeAccess(c) ? [[c.name, { config: c, index }]] : [])),
    );
    this.httpOnlyNames = new Set(config.clusters.filter((c) => !hasKubeAccess(c)).map((c) => c.name));
  }

  /** The clusters reached over Kubernetes: the ones ingest watches. */
  names(): string[] {
    return [...this.byName.keys()];
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** An HTTP-only cluster of the config: there is nothing of it to read or write in Kubernetes. */
  httpOnly(name: string): boolean {
    return this.httpOnlyNames.has(name);
  }

  get(name: string): Promise<ClusterPort> {
    const entry = this.byName.get(name);
    if (entry === undefined)
      return Promise.reject(
        this.httpOnlyNames.has(name)
          ? new HttpOnlyClusterError(
              `cluster "${name}" is HTTP-only: the coordinator has no Kubernetes access to it`,
            )
          : new Error(`unknown cluster "${name}"`),
      );
    const cached = this.clients.get(name);
    const expires = entry.config.kubeconfig === undefined;
    if (cached !== undefined && (!expires || this.now() - cached.builtAt < TOKEN_CLIENT_MAX_AGE_MS)) {
      return cached.client;
    }
    const client = this.factory(entry.config, entry.index);
    // A failed build is not cached: the next call tries again (the cluster may be back).
    client.catch(() => this.clients.delete(name));
    this.clients.set(name, { client, builtAt: this.now() });
    return client;
  }
}

export function defaultFactory(configDir: string): ClusterFactory {
  return async (cluster, index) => new KubeCluster(cluster.name, await accessFor(cluster, index, configDir));
}
