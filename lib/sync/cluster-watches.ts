import type { CandidateApiVersion } from '../election/types.js';
import type { ClusterPort, ListResult, RawObject, WatchPhase } from '../ports/cluster.js';

export interface Watching {
  /** Resolves once the watches have ended or been stopped. */
  readonly ended: Promise<void>;
  stop(): void;
}

/**
 * Watches the cluster's Leases and (when it serves them) LeaseCandidates from the lists'
 * resourceVersions. When either watch ends, both are stopped and `ended` resolves: the caller
 * relists, since resourceVersions may have expired.
 */
export function watchFrom(
  client: ClusterPort,
  version: CandidateApiVersion | undefined,
  from: { readonly leases: ListResult; readonly candidates: ListResult | undefined },
  onEvent: (path: 'leases' | 'leasecandidates', phase: WatchPhase, object: RawObject) => void,
): Watching {
  const watches: Promise<AbortController>[] = [];
  let resolveEnded: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    resolveEnded = resolve;
  });
  const stop = () => {
    for (const w of watches) w.then((c) => c.abort()).catch(() => undefined);
    resolveEnded();
  };
  const start = (path: 'leases' | 'leasecandidates', apiVersion: 'v1' | CandidateApiVersion, rv: string) => {
    watches.push(
      client.watch(
        path,
        apiVersion,
        rv,
        (phase, object) => phase !== 'BOOKMARK' && onEvent(path, phase, object),
        stop,
      ),
    );
  };
  start('leases', 'v1', from.leases.resourceVersion);
  if (version !== undefined && from.candidates !== undefined)
    start('leasecandidates', version, from.candidates.resourceVersion);
  return { ended, stop };
}
