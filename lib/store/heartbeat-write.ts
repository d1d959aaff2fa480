import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { LeaseCandidateObject } from '../api/leasecandidate.js';
import { CANDIDATE_VALID_MS } from '../election/timing.js';
import type { Millis } from '../election/types.js';
import { StaleHeartbeatError } from '../errors.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { HeartbeatResult } from '../ports/store.js';
import { CANDIDATE_IS_NEW, CANDIDATE_UNCHANGED_SINCE_READ, RENEWAL_WITH_SAME_SPEC } from './conditions.js';
import { type CandidateItem, candidateFromItem, candidateTtl, specKeyOf } from './items.js';
import { candidateSortKey, partitionKey } from './keys.js';

/** How often a heartbeat retries after losing a race with another heartbeat of the same candidate. */
const HEARTBEAT_RACE_RETRIES = 3;

/**
 * The item a failed condition returned (ReturnValuesOnConditionCheckFailure: ALL_OLD), so a
 * failed write needs no second read. undefined: no item existed. null: not a failed condition.
 * The document client does not unmarshall this one for us.
 */
function failedItem<T>(error: unknown): T | undefined | null {
  if (!(error instanceof ConditionalCheckFailedException)) return null;
  return error.Item === undefined ? undefined : (unmarshall(error.Item) as T);
}

/**
 * Stores one heartbeat of a candidate: the common renewal is one conditional update (same spec,
 * newer renewTime, not expired); a new candidate, a changed spec or a return from expiry is a
 * conditional put of the whole item, retried when another heartbeat of it lands in between. A
 * heartbeat no newer than the stored one is refused with StaleHeartbeatError, at no extra read.
 */
export async function putHeartbeat(
  table: { readonly doc: DynamoDBDocumentClient; readonly tableName: string },
  key: LeaseKey,
  cluster: string,
  heartbeat: LeaseCandidateObject & { renewTime: Millis },
  now: Millis,
): Promise<HeartbeatResult> {
  const pk = partitionKey(key);
  const sk = candidateSortKey(cluster, heartbeat.name);
  const specKey = specKeyOf(heartbeat);
  for (let attempt = 0; ; attempt++) {
    let stored: CandidateItem | undefined;
    try {
      const out = await table.doc.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: { pk, sk },
          UpdateExpression: `SET renewTime = :renewTime, renewedAt = :now, #change = :renew, expiresAt = :ttl${
            heartbeat.resourceVersion === undefined ? '' : ', resourceVersion = :rv'
          } REMOVE awaitingAck`,
          ConditionExpression: RENEWAL_WITH_SAME_SPEC,
          ExpressionAttributeNames: { '#change': 'change' },
          ExpressionAttributeValues: {
            ':renewTime': heartbeat.renewTime,
            ':now': now,
            ':renew': 'renew',
            ':ttl': candidateTtl(now),
            ':specKey': specKey,
            ':liveSince': now - CANDIDATE_VALID_MS,
            ...(heartbeat.resourceVersion !== undefined && { ':rv': heartbeat.resourceVersion }),
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { created: false, candidate: candidateFromItem(out.Attributes as CandidateItem) };
    } catch (error) {
      const old = failedItem<CandidateItem>(error);
      if (old === null) throw error;
      stored = old;
    }
    if (stored !== undefined && stored.renewTime >= heartbeat.renewTime) {
      throw new StaleHeartbeatError(
        `heartbeat renewTime ${new Date(heartbeat.renewTime).toISOString()} is not newer than the stored ${new Date(stored.renewTime).toISOString()}`,
        candidateFromItem(stored),
      );
    }
    const item: CandidateItem = {
      pk,
      sk,
      kind: 'candidate',
      cluster,
      namespace: heartbeat.namespace,
      name: heartbeat.name,
      leaseName: heartbeat.leaseName,
      apiVersion: heartbeat.apiVersion,
      binaryVersion: heartbeat.binaryVersion,
      emulationVersion: heartbeat.emulationVersion,
      strategy: heartbeat.strategy,
      ...(heartbeat.preferredStrategies !== undefined && {
        preferredStrategies: [...heartbeat.preferredStrategies],
      }),
      specKey,
      // Creation time is set once; the candidate's age is what the strategy orders by.
      createdAt: stored?.createdAt ?? heartbeat.creationTimestamp ?? now,
      renewTime: heartbeat.renewTime,
      // First sight of a candidate: its own renewTime is all we know of its liveness, and at
      // the 30-minute scale of candidate expiry clock skew does not matter. Later renewals are
      // timed on our clock alone.
      renewedAt: stored === undefined ? Math.min(now, heartbeat.renewTime) : now,
      ...(heartbeat.resourceVersion !== undefined && { resourceVersion: heartbeat.resourceVersion }),
      change: 'spec',
      expiresAt: candidateTtl(now),
    };
    try {
      await table.doc.send(
        new PutCommand({
          TableName: table.tableName,
          Item: item,
          ConditionExpression: stored === undefined ? CANDIDATE_IS_NEW : CANDIDATE_UNCHANGED_SINCE_READ,
          ...(stored !== undefined && {
            ExpressionAttributeValues: { ':readRenewTime': stored.renewTime },
          }),
        }),
      );
      return { created: stored === undefined, candidate: candidateFromItem(item) };
    } catch (error) {
      // Another heartbeat of the same candidate landed in between: decide again from the top.
      if (!(error instanceof ConditionalCheckFailedException) || attempt >= HEARTBEAT_RACE_RETRIES)
        throw error;
    }
  }
}
