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
 * While `current` is not a built-in version, asks the cluster again every `everyMs` and calls
 * `changed` (once) when the answer differs: the CRD was applied or removed, or the gate turned on.
 * A failed look is left to the watches, which end when the cluster goes away.
 */
export async function watchForOtherApi(
  client: ClusterPort,
  current: CandidateApiVersion | undefined,
  everyMs: number,
  stop: AbortSignal,
  changed: () => void,
  logger: Logger,
): Promise<void> {
  if (isBuiltIn(current)) return;
  while (!stop.aborted) {
    try {
      await sleep(everyMs, undefined, { signal: stop });
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
}
