import { addAbortListener } from 'node:events';
import { type IngestOptions, ingestClusters } from '../handlers/ingest.js';
import type { CoordinatorWiring } from '../wiring/coordinator.js';
import { invoke } from './invocations.js';

/** What the local runtime's options give each ingest run (LocalCoordinatorOptions). */
interface IngestCallbacks {
  readonly onIngest?: () => void;
  readonly onCandidateApi?: IngestOptions['onCandidateApi'];
  readonly rediscoverEveryMs?: number;
}

/** Ingest of every registered cluster, started on demand (npm start does at once; tests choose when). */
export function localIngest(options: IngestCallbacks, deps: CoordinatorWiring) {
  let stopping = new AbortController();
  let runs: Promise<void>[] = [];
  const begin = (signal: AbortSignal, schedule?: { stopsAt: number; handsOverAt: number }): Promise<void> => {
    const clusters = deps.clusterWiring;
    if (clusters === undefined) return Promise.resolve();
    const run = invoke('ingest', () =>
      ingestClusters(deps, clusters, signal, {
        ...(options.onIngest !== undefined && { onEvent: options.onIngest }),
        ...(options.onCandidateApi !== undefined && { onCandidateApi: options.onCandidateApi }),
        ...(options.rediscoverEveryMs !== undefined && { rediscoverEveryMs: options.rediscoverEveryMs }),
        ...schedule,
      }),
    ).catch((error: unknown) => deps.logger.error('ingest ended', { error: error as Error }));
    runs.push(run);
    return run;
  };
  const start = () => void begin(stopping.signal);
  // A run as the deployed schedule starts one: it stops `lastsMs` on, as its Lambda invocation
  // would, and hands over to the next run `everyMs` on.
  const startRun = (lastsMs: number, everyMs: number): Promise<void> => {
    // A controller and a timer of its own, not AbortSignal.any over AbortSignal.timeout: a signal
    // combined that way can be collected before the timeout fires, and the run then never stops.
    const own = new AbortController();
    const deadline = setTimeout(() => own.abort(), lastsMs);
    const onStop = addAbortListener(stopping.signal, () => own.abort());
    const now = deps.clock();
    const run = begin(own.signal, { stopsAt: now + lastsMs, handsOverAt: now + everyMs });
    return run.finally(() => {
      clearTimeout(deadline);
      onStop[Symbol.dispose]();
    });
  };
  const stop = async () => {
    stopping.abort();
    await Promise.all(runs);
    stopping = new AbortController();
    runs = [];
  };
  return { start, startRun, stop };
}
