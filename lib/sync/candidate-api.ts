import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import { candidateApiOf } from '../api/leasecandidate.js';
import { type CandidateApiVersion, CRD_CANDIDATE_API } from '../election/types.js';
import type { ClusterPort } from '../ports/cluster.js';

/**
 * How often ingest asks a cluster that serves no built-in LeaseCandidate API what it serves now.
 * Nothing announces a CRD being applied to a watcher of other kinds, so a cluster reading the CRD,
 * or nothing, is asked again: one `GET /apis` per cluster every 10 s, and a CRD applied while ingest
 * runs is read within that.
 */
export const REDISCOVER_EVERY_MS = 10_000;

/**
 * The first look again at a cluster that served a LeaseCandidate API and now lists none; each next
 * one waits twice as long. A kube-apiserver that has just started lists one API group for a moment,
 * then all of them: read as the truth, that moment cost a warning and a rediscovery interval of no
 * candidates read.
 */
export const STARTING_AGAIN_FIRST_LOOK_MS = 250;

/** The waits between looks: `everyMs`, for as long as the looks go on. */
export function* every(everyMs: number): Generator<number> {
  for (;;) yield everyMs;
}

/**
 * The waits between looks at a cluster that may be starting again: from `firstMs`, doubling, until
 * they add up to `totalMs` (the last one cut short).
 */
export function* backingOff(firstMs: number, totalMs: number): Generator<number> {
  let waited = 0;
  for (let next = Math.min(firstMs, totalMs); waited < totalMs; next *= 2) {
    const wait = Math.min(next, totalMs - waited);
    waited += wait;
    yield wait;
  }
}

/** Where the built-in API is read, nothing better can appear without an apiserver restart, which ends every watch. */
export function isBuiltIn(api: CandidateApiVersion | undefined): boolean {
  return api !== undefined && api !== CRD_CANDIDATE_API;
}

/**
 * Says which LeaseCandidate API ingest reads in one cluster, once each time it changes (not on
 * every relist): a warning when it is none, since candidates there cannot register and nothing
 * else would say so.
 */
export class CandidateApiReport {
  /** null: not discovered yet in this run. */
  private last: CandidateApiVersion | undefined | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly cluster: string,
    private readonly onChange?: (api: CandidateApiVersion | undefined) => void,
  ) {}

  /** The API last reported is one the cluster serves: a cluster that now lists none may be starting again. */
  get served(): boolean {
    return this.last !== null && this.last !== undefined;
  }

  seen(api: CandidateApiVersion | undefined): void {
    if (api === this.last) return;
    this.last = api;
    if (api === undefined) {
      this.logger.warn(
        `cluster ${this.cluster} serves no LeaseCandidate API (the CoordinatedLeaderElection gate is off and the CRD is not installed): its candidates cannot register; apply infra/kubernetes/leasecandidate-crd.yaml there`,
        { cluster: this.cluster },
      );
    } else {
      this.logger.info(
        `cluster ${this.cluster}: reading LeaseCandidates from ${candidateApiOf(api).apiVersion}`,
        {
          cluster: this.cluster,
        },
      );
    }
    this.onChange?.(api);
  }
}

/**
 * While `current` is not a built-in version, asks the cluster again after each of `waitsMs` and
 * calls `changed` (once) when the answer differs: the CRD was applied or removed, or the gate turned
 * on. When the waits run out with the answer unchanged, calls `unchanged` instead. A failed look is
 * left to the watches, which end when the cluster goes away.
 */
export async function watchForOtherApi(
  client: ClusterPort,
  current: CandidateApiVersion | undefined,
  waitsMs: Iterable<number>,
  stop: AbortSignal,
  { changed, unchanged }: { changed: () => void; unchanged?: () => void },
  logger: Logger,
): Promise<void> {
  if (isBuiltIn(current)) return;
  for (const waitMs of waitsMs) {
    try {
      await sleep(waitMs, undefined, { signal: stop });
    } catch {
      return;
    }
    try {
      if ((await client.candidateVersion()) !== current) {
        if (!stop.aborted) changed();
        return;
      }
    } catch (error) {
      logger.debug('LeaseCandidate API discovery failed; the watches notice an outage', {
        cluster: client.name,
        error: error as Error,
      });
    }
  }
  if (!stop.aborted) unchanged?.();
}
