import type { SQSRecord } from 'aws-lambda';

/** The first retry of a failed timer message: a transient failure costs a failover about a second. */
export const FIRST_RETRY_SECONDS = 1;
/** Each failed receive waits this many times longer than the one before. */
export const RETRY_GROWTH = 3;
/** The longest back-off, well below the queue's 120 s visibility timeout (infra/resources.yml). */
export const MAX_RETRY_SECONDS = 30;

/**
 * How long a timer message that failed on its `receiveCount`th receive (SQS's
 * ApproximateReceiveCount, 1 on the first) stays invisible: 1 s, 3 s, 9 s, 27 s, then 30 s.
 *
 * - A transient failure (a throttled or failed table request, a compare-and-set lost past the
 *   step's retries, an apiserver request that failed, a message reported out of time) comes back
 *   in a second: after the 120 s visibility timeout, the minute sweep would take the deadline
 *   first, up to a minute late.
 * - The queue dead-letters a message on the receive after its fifth (maxReceiveCount 5): the five
 *   receives come at about 0, 1, 4, 13 and 40 s (plus each run's own time) and the message reaches
 *   TimerDeadLetterQueue at about 70 s. Five failures then span more than a minute, longer than a
 *   sweep period and than a throttled burst or an apiserver restart, so TimerDeadLettersAlarm still
 *   means the lease failed for over a minute (the table, a cluster or a bug), not a blip; a flat
 *   second would dead-letter on a 5 s blip.
 * - A poison message (a body that never parses, a step that always throws) costs five invocations
 *   in about 70 s and then waits in the dead-letter queue: the growth and maxReceiveCount keep it
 *   from spinning.
 */
export function retryDelaySeconds(receiveCount: number): number {
  // A count SQS did not give (a hand-made event) is taken as the first receive.
  const retries = Number.isInteger(receiveCount) && receiveCount > 1 ? receiveCount - 1 : 0;
  return Math.min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * RETRY_GROWTH ** retries);
}

/** The record's ApproximateReceiveCount; NaN when absent. */
export function receiveCountOf(record: SQSRecord): number {
  return Number(record.attributes?.ApproximateReceiveCount);
}
