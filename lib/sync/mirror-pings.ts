import type { Logger } from '@aws-lambda-powertools/logger';
import { formatMicroTime } from '../api/time.js';
import { onConditionFailed } from '../errors.js';
import type { ClusterPort } from '../ports/cluster.js';
import type { MirrorDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { StoredCandidate } from '../ports/store.js';

/**
 * What one cluster's pings came to: the candidates asked to renew, those whose object is gone from
 * the cluster (deleted since the decision read them), and those the ask did not reach otherwise.
 */
export interface PingsSent {
  readonly sent: string[];
  readonly gone: StoredCandidate[];
  readonly failed: string[];
}

/** Candidates whose ping goes to their cluster: asked to renew, not yet answered, read from there. */
export function awaitingPing(candidates: readonly StoredCandidate[]): StoredCandidate[] {
  return candidates.filter(
    (c) => c.pingTime !== undefined && c.awaitingAck === true && c.resourceVersion !== undefined,
  );
}

/**
 * A ping is a pingTime just after the candidate's own last renewTime, on its own clock. client-go
 * renews when pingTime is after renewTime; using its clock means a candidate whose clock is behind
 * ours does not keep re-acking until its clock catches up. Whether it answered is judged on our
 * clock, by when its renewal reaches the table.
 *
 * Only a candidate read from the cluster (it has a resourceVersion there) is pinged there, in the
 * API it was read from (built-in or CRD); one heard over HTTP reads its pingTime in the heartbeat
 * response. A candidate whose object is gone (404 naming it) was deleted since the decision read it,
 * most often a pod withdrawing as it stops: that is `gone`, not an error, and the caller removes it as
 * ingest does on the object's DELETED event. A ping that does not land otherwise (the API not served,
 * 403, the cluster out) is an error: the election waits out that candidate's ping window for nothing.
 */
export async function sendPings(
  logger: Logger,
  key: LeaseKey,
  client: ClusterPort,
  candidates: readonly StoredCandidate[],
): Promise<PingsSent> {
  const waiting = awaitingPing(candidates);
  const results = await Promise.allSettled(
    waiting.map((c) =>
      client.pingCandidate(
        c.apiVersion,
        { namespace: c.namespace, name: c.name },
        formatMicroTime(c.sentRenewTime + 1),
      ),
    ),
  );
  const sent: string[] = [];
  const gone: StoredCandidate[] = [];
  const failed: string[] = [];
  results.forEach((result, i) => {
    const c = waiting[i] as StoredCandidate;
    if (result.status === 'fulfilled' && !result.value.ok && result.value.reason === 'NotFound') {
      gone.push(c);
      return;
    }
    const problem =
      result.status === 'rejected'
        ? { error: result.reason as Error }
        : result.value.ok
          ? undefined
          : { reason: result.value.reason };
    if (problem === undefined) {
      sent.push(c.name);
      return;
    }
    failed.push(c.name);
    logger.error('ping not delivered', {
      cluster: client.name,
      lease: key,
      candidate: c.name,
      apiVersion: c.apiVersion,
      ...problem,
    });
  });
  return { sent, gone, failed };
}

/**
 * Removes candidates whose object a ping found gone from `cluster`, as ingest does on their DELETED
 * event (whichever comes first; the other finds nothing to do). The removal is conditional on the
 * renewal the decision read, so a candidate recreated under the same name that has renewed since
 * is kept. Without it, one whose DELETED event ingest never saw would be waited on until the sweep
 * collects it, 30 minutes later. Best-effort: a removal that fails is logged, and ingest or the sweep
 * removes the candidate instead.
 */
export async function removeGoneCandidates(
  deps: Pick<MirrorDeps, 'store' | 'logger'>,
  key: LeaseKey,
  cluster: string,
  gone: readonly StoredCandidate[],
): Promise<void> {
  if (gone.length === 0) return;
  const results = await Promise.allSettled(
    gone.map((c) =>
      deps.store
        .removeCandidate(key, cluster, c.name, c.sentRenewTime)
        .then(() => true, onConditionFailed(false)),
    ),
  );
  const removed = gone.filter((_, i) => {
    const result = results[i];
    if (result?.status === 'rejected')
      deps.logger.warn('could not remove a deleted candidate; ingest or the sweep removes it', {
        cluster,
        lease: key,
        candidate: gone[i]?.name,
        error: result.reason as Error,
      });
    return result?.status === 'fulfilled' && result.value;
  });
  if (removed.length > 0)
    deps.logger.info('candidate deleted before its ping; removed', {
      cluster,
      lease: key,
      candidates: removed.map((c) => c.name),
    });
}
