/**
 * How to reach one apiserver and who to be there: what our requests need (lib/kube/apiserver.ts),
 * nothing more. The agent's and the coordinator's.
 */
export interface ApiserverAccess {
  /** The context's name, or `in-cluster`: names the cluster in errors. */
  readonly name: string;
  readonly server: URL;
  readonly tls: {
    readonly ca?: Buffer;
    readonly cert?: Buffer;
    readonly key?: Buffer;
    readonly rejectUnauthorized: boolean;
    readonly servername?: string;
  };
  /** The bearer token for the next request; a file's is read again every minute (tokens rotate). */
  readonly token?: () => Promise<string>;
}
