import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import pLimit from 'p-limit';
import { z } from 'zod';
import { namedString, requiredString } from '../api/fields.js';
import { parseJsonOrThrow, parseOrThrow } from '../api/issues.js';
import { dns1123Label, dns1123Subdomain } from '../api/names.js';
import { overtaken } from '../coordinator/lease-triage.js';
import { type ReconcileOptions, reconcileLease } from '../coordinator/reconcile-lease.js';
import { OutOfTimeError } from '../errors.js';
import type { CoordinatorDeps, MirrorDeps, RequeueDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import { ClusterOutages } from '../sync/cluster-outages.js';
import { decideAndMirror } from '../sync/decide-now.js';
import { receiveCountOf, retryDelaySeconds } from './timer-backoff.js';

/** A lease's scope: its cluster, or its lease group's clusters joined by "+" (lib/ports/lease-key.ts). */
const scope = requiredString('the lease scope').refine(
  (value) => value.split('+').every((cluster) => dns1123Label(cluster) === undefined),
  { error: 'must be cluster names (lowercase RFC 1123 labels) joined by "+"' },
);

/** The body timerMessage (lib/runtime/sqs-timer-queue.ts) writes, checked as every other input. */
const timerMessage = z.object(
  {
    lease: z.object(
      {
        scope,
        namespace: namedString(dns1123Label, 'the Lease namespace'),
        name: namedString(dns1123Subdomain, 'the Lease name'),
      },
      { error: 'required: the lease, {scope, namespace, name}' },
    ),
    dueAt: z.number({ error: 'required: the deadline, in milliseconds since the epoch' }),
  },
  { error: 'must be a timer message, {lease, dueAt}' },
);

/** Messages of a batch decided at once: the whole batch (batchSize in serverless.yml). */
const MESSAGE_CONCURRENCY = 10;

/**
 * Left of the invocation when the batch stops waiting: the messages still running are reported
 * as failures while there is time to say so, so the finished ones are not delivered again, as all
 * of them would be if the invocation timed out. Like every failed message, they come back after
 * a back-off of a second or more (timer-backoff.ts), set in that time.
 */
export const RETURN_MARGIN_MS = 1_000;

/**
 * Left of the invocation when the back-off of the failed messages is given up (one SQS request,
 * tens of milliseconds): the batch answers in time even when SQS does not, and those messages come
 * back after the visibility timeout instead.
 */
export const REDELIVERY_MARGIN_MS = 250;

/**
 * How early a timer message can arrive: its whole-second DelaySeconds is rounded down
 * (lib/runtime/sqs-timer-queue.ts). One that arrives earlier than this is a hop of a deadline
 * past SQS's 15-minute bound, not a rounding: it is looked at at once, and sent on toward its
 * deadline unless that look arms an earlier timer in its place (reconcile-lease.ts, `hop`).
 */
export const EARLY_BY_AT_MOST_MS = 1_000;

/** What is left of the invocation (Lambda's context.getRemainingTimeInMillis). */
export type RemainingTime = () => number;

/**
 * requeue: a lease deadline came due (holder expiry, ping window, candidate staleness). With
 * cluster access it also mirrors what it decided at once: a failover's new holder, or the
 * pre-pings before a silent holder's deadline, would otherwise wait for the stream to wake
 * `mirror`, which under load takes seconds.
 *
 * Each message is one record of Powertools' BatchProcessor: one that fails is reported as a batch
 * item failure, and the others are done. A failed message is made visible again after a short
 * back-off (`redeliverSoon`), not the queue's 120 s visibility timeout, so a transient failure
 * delays its deadline by about a second. A cluster outage must not make a batch outlive its
 * invocation: the messages run in parallel, a cluster that timed out once is not waited on again
 * in the same batch (ClusterOutages), and with `remaining` given, messages not
 * finished RETURN_MARGIN_MS before the deadline are reported as failures too. Such a message's
 * step may still finish later in a thawed container; every write it makes is conditional, so that
 * is harmless (docs/design.md, rule 2).
 */
export async function handleTimerBatch(
  deps: RequeueDeps,
  event: SQSEvent,
  mirror?: MirrorDeps,
  remaining?: RemainingTime,
): Promise<SQSBatchResponse> {
  const outages = new ClusterOutages();
  const batchMirror =
    mirror === undefined ? undefined : { ...mirror, clusters: outages.wrap(mirror.clusters) };
  const limit = pLimit(MESSAGE_CONCURRENCY);
  const takeStep = async (message: SQSRecord): Promise<void> => {
    try {
      const { lease, dueAt } = parseOrThrow(timerMessage, parseJsonOrThrow(message.body, 'body'));
      const options = await atItsTime(deps, lease, dueAt);
      if (batchMirror === undefined) await reconcileLease(deps, lease, options);
      else await decideAndMirror(deps, batchMirror, lease, options);
    } catch (error) {
      deps.logger.error('timer reconcile failed', { messageId: message.messageId, error: error as Error });
      throw error;
    }
  };
  const deadline = remaining === undefined ? undefined : outOfTimeAfter(remaining() - RETURN_MARGIN_MS);
  const late: string[] = [];
  const handleMessage = async (message: SQSRecord): Promise<void> => {
    const step = limit(() => takeStep(message));
    if (deadline === undefined) return step;
    if ((await Promise.race([step, deadline.reached])) !== 'out-of-time') return;
    late.push(message.messageId);
    throw new OutOfTimeError(`message ${message.messageId}: not done before the invocation's deadline`);
  };
  try {
    const response = await processPartialResponse(event, handleMessage, new BatchProcessor(EventType.SQS), {
      // A batch whose every message failed is reported like any other, not thrown.
      throwOnFullBatchFailure: false,
    });
    if (late.length > 0)
      deps.logger.warn('out of time: these deadlines come back with SQS', {
        messageIds: late,
        clustersOut: outages.names(),
      });
    await redeliverSoon(deps, event, response, remaining);
    return response;
  } finally {
    deadline?.cancel();
    // Messages not started by now are reported above; they must not start after the return.
    limit.clearQueue();
  }
}

/**
 * Sets each failed message's back-off by its receive count. A back-off that cannot be set (SQS
 * refused or did not answer in time) only costs time: the message comes back after the visibility
 * timeout, so it is logged and the batch answered as it is.
 */
async function redeliverSoon(
  deps: RequeueDeps,
  event: SQSEvent,
  response: SQSBatchResponse,
  remaining: RemainingTime | undefined,
): Promise<void> {
  if (deps.redelivery === undefined || response.batchItemFailures.length === 0) return;
  const records = new Map(event.Records.map((record) => [record.messageId, record]));
  const messages = response.batchItemFailures.flatMap(({ itemIdentifier }) => {
    const record = records.get(itemIdentifier);
    if (record === undefined) return [];
    return [{ receiptHandle: record.receiptHandle, afterSeconds: retryDelaySeconds(receiveCountOf(record)) }];
  });
  const giveUp = remaining === undefined ? undefined : outOfTimeAfter(remaining() - REDELIVERY_MARGIN_MS);
  const { redelivery } = deps;
  // Settles with the error rather than rejecting, even for an adapter that throws at once.
  const change = Promise.resolve()
    .then(() => redelivery.redeliverAfter(messages))
    .then(
      () => undefined,
      (error: unknown) => error as Error,
    );
  try {
    const outcome = await (giveUp === undefined ? change : Promise.race([change, giveUp.reached]));
    if (outcome === undefined) return;
    deps.logger.warn('failed timer messages come back after the visibility timeout', {
      receiptHandles: messages.map((m) => m.receiptHandle),
      ...(outcome === 'out-of-time' ? { reason: 'no time left to set their back-off' } : { error: outcome }),
    });
  } finally {
    giveUp?.cancel();
  }
}

/**
 * A message that arrived early (its whole-second DelaySeconds is rounded down) is taken at its
 * deadline, not before: taken early, the step would find nothing due yet and its own timer still
 * pending, arm none (lease-triage.ts, pendingTimerCovers), and leave the deadline to the minute
 * sweep. Waiting is billed, though, and most deadlines have been overtaken by then (a live holder
 * renewed past its pre-ping): one read tells, and such a step is taken at once, as this timer's
 * delivery, so that it arms the next one. The same holds for a local timer that fires a
 * millisecond early.
 */
async function atItsTime(deps: CoordinatorDeps, key: LeaseKey, dueAt: number): Promise<ReconcileOptions> {
  const early = dueAt - deps.clock();
  if (early <= 0) return {};
  if (early > EARLY_BY_AT_MOST_MS) return { hop: dueAt };
  if (overtaken(await deps.store.loadLease(key), deps.clock(), dueAt)) return { delivering: dueAt };
  // Again until the clock shows it: a timer can wake a millisecond before Date.now has moved on.
  for (let left = dueAt - deps.clock(); left > 0; left = dueAt - deps.clock())
    await new Promise((resolve) => setTimeout(resolve, left));
  return {};
}

/** Resolves 'out-of-time' after `ms` (at once if none is left), unless cancelled first. */
function outOfTimeAfter(ms: number): { reached: Promise<'out-of-time'>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const reached = new Promise<'out-of-time'>((resolve) => {
    timer = setTimeout(() => resolve('out-of-time'), Math.max(0, ms));
  });
  return { reached, cancel: () => clearTimeout(timer) };
}
