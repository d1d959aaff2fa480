import type { Logger } from '@aws-lambda-powertools/logger';
import { formatMicroTime } from '../api/time.js';
import type { ClusterPort } from '../ports/cluster.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { StoredCandidate } from '../ports/store.js';

/** What one cluster's pings came to: the candidates asked to renew, and those the ask did not reach. */
export interface PingsSent {
  readonly sent: string[];
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
 * response. A ping that does not land (the object or its API gone, 403, the cluster out) is an error:
 * the election waits out that candidate's ping window for nothing.
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
  const failed: string[] = [];
  results.forEach((result, i) => {
    const c = waiting[i] as StoredCandidate;
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
  return { sent, failed };
}
