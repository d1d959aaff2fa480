import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  paginateQuery,
  paginateScan,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { LeaseCandidateObject } from '../api/leasecandidate.js';
import { seenHoldingTerm } from '../election/terms.js';
import type { Candidate, LeaseRecord, Millis } from '../election/types.js';
import { ConflictError } from '../errors.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type {
  ArmedTimer,
  CoordinatorStore,
  HeartbeatResult,
  LeaseObservation,
  LeaseRenewal,
  LeaseState,
  ScannedLease,
  StoredLease,
  TakeoverDeferral,
} from '../ports/store.js';
import {
  CANDIDATE_NOT_RENEWED_OR_PINGED_SINCE_READ,
  CANDIDATE_NOT_RENEWED_SINCE,
  CANDIDATE_STILL_EXPIRED,
  holdingAsRead,
  LEASE_HELD_BY,
  LEASE_IS_NEW,
  LEASE_VERSION_MATCHES,
  NO_EARLIER_TIMER_PENDING,
  RENEWAL_BY_HOLDER_IN_ITS_CLUSTER,
  RENEWAL_BY_HOLDER_NEWER_THAN_LAST,
  TIMER_ARMED_FOR,
} from './conditions.js';
import { putHeartbeat } from './heartbeat-write.js';
import {
  type LeaseItem,
  leaseFromItem,
  leaseStateFromItems,
  recordAttributes,
  renewalChange,
} from './items.js';
import { candidateSortKey, LEASE_SK, partitionKey, TIMER_SK } from './keys.js';
import {
  AMEND_LIVE_LEASE,
  AMEND_LIVE_LEASE_STRATEGY,
  DEFER_TAKEOVER_CLUSTER_BACK,
  DEFER_TAKEOVER_CLUSTER_OUT,
  RECORD_HOLDER_CLUSTER_RENEWAL,
  RECORD_HOLDER_RELEASE,
  RECORD_HOLDER_RENEWAL,
  RECORD_OBSERVED_RELEASE,
  RECORD_OBSERVED_RENEWAL,
} from './lease-updates.js';
import { groupByPartition } from './scan-groups.js';

export class DynamoDbStore implements CoordinatorStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    /** Items per Scan page (DynamoDB's own limit, 1 MB, when absent); tests use small pages. */
    private readonly scanPageItems?: number,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  putHeartbeat(
    key: LeaseKey,
    cluster: string,
    heartbeat: LeaseCandidateObject & { renewTime: Millis },
    now: Millis,
  ): Promise<HeartbeatResult> {
    return putHeartbeat({ doc: this.doc, tableName: this.tableName }, key, cluster, heartbeat, now);
  }

  async loadLease(key: LeaseKey): Promise<LeaseState> {
    const items: Record<string, unknown>[] = [];
    const pages = paginateQuery(
      { client: this.doc },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': partitionKey(key) },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) items.push(...(page.Items ?? []));
    return leaseStateFromItems(items);
  }

  async writeLease(
    key: LeaseKey,
    record: LeaseRecord,
    expectedVersion: number | undefined,
    now: Millis,
  ): Promise<void> {
    const item: LeaseItem = {
      pk: partitionKey(key),
      sk: LEASE_SK,
      kind: 'lease',
      namespace: key.namespace,
      name: key.name,
      ...recordAttributes(record),
      term: record.term,
      version: (expectedVersion ?? 0) + 1,
      change: 'decision',
      updatedAt: now,
    };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: expectedVersion === undefined ? LEASE_IS_NEW : LEASE_VERSION_MATCHES,
          ...(expectedVersion !== undefined && {
            ExpressionAttributeValues: { ':expectedVersion': expectedVersion },
          }),
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new ConflictError(
          `lease ${item.pk} changed since version ${expectedVersion ?? 'none'} was read`,
          {
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  async amendLiveLease(
    key: LeaseKey,
    read: StoredLease,
    write: LeaseRecord,
    now: Millis,
  ): Promise<StoredLease> {
    const { holderIdentity, term, preferredHolder, strategy } = read.record;
    const updated = await this.updateLeaseIf(
      key,
      write.preferredHolder === undefined ? AMEND_LIVE_LEASE_STRATEGY : AMEND_LIVE_LEASE,
      holdingAsRead(read.record),
      {
        ':holder': holderIdentity,
        ':term': term,
        ':strategy': write.strategy,
        ':change': 'decision',
        ':now': now,
        ...(write.preferredHolder !== undefined && { ':preferredHolder': write.preferredHolder }),
        ...(preferredHolder !== undefined && { ':readPreferredHolder': preferredHolder }),
        ...(strategy !== undefined && { ':readStrategy': strategy }),
      },
    );
    if (updated === undefined)
      throw new ConflictError(`lease ${key.namespace}/${key.name}: its holding changed since it was read`);
    return updated;
  }

  async pingCandidates(
    key: LeaseKey,
    candidates: readonly Candidate[],
    now: Millis,
  ): Promise<readonly Candidate[]> {
    const pk = partitionKey(key);
    // Pings go out in parallel, as upstream does since 1.33; each one is its own conditional write.
    const results = await Promise.allSettled(
      candidates.map((c) =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk, sk: candidateSortKey(c.cluster, c.name) },
            UpdateExpression: 'SET pingTime = :now, awaitingAck = :true, #change = :ping',
            ConditionExpression: CANDIDATE_NOT_RENEWED_OR_PINGED_SINCE_READ,
            ExpressionAttributeNames: { '#change': 'change' },
            ExpressionAttributeValues: {
              ':now': now,
              ':true': true,
              ':ping': 'ping',
              ':readRenewedAt': c.renewTime ?? -1,
              ':readPingTime': c.pingTime ?? -1,
            },
          }),
        ),
      ),
    );
    const pinged: Candidate[] = [];
    results.forEach((result, index) => {
      if (result.status === 'fulfilled') pinged.push(candidates[index] as Candidate);
      else if (!(result.reason instanceof ConditionalCheckFailedException)) throw result.reason;
    });
    return pinged;
  }

  async deleteCandidates(key: LeaseKey, candidates: readonly Candidate[]): Promise<void> {
    const pk = partitionKey(key);
    await Promise.all(
      candidates.map(async (c) => {
        try {
          await this.doc.send(
            new DeleteCommand({
              TableName: this.tableName,
              Key: { pk, sk: candidateSortKey(c.cluster, c.name) },
              ConditionExpression: CANDIDATE_STILL_EXPIRED,
              ExpressionAttributeValues: { ':readRenewedAt': c.renewTime ?? -1 },
            }),
          );
        } catch (error) {
          // It renewed after all (or is already gone): keeping it is right.
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }),
    );
  }

  async recordRenewal(key: LeaseKey, renewal: LeaseRenewal, now: Millis): Promise<StoredLease> {
    const releasing = renewal.holderIdentity === '';
    const updated = await this.updateLeaseIf(
      key,
      releasing ? RECORD_HOLDER_RELEASE : RECORD_HOLDER_RENEWAL,
      LEASE_HELD_BY,
      {
        ':holder': renewal.holderIdentity,
        ':expectedHolder': renewal.expectedHolder,
        ':lds': renewal.leaseDurationSeconds,
        ':now': now,
        ':change': releasing ? 'release' : 'renewal',
        ...(releasing && { ':releasedHolder': renewal.expectedHolder }),
      },
    );
    if (updated === undefined)
      throw new ConflictError(
        `lease ${key.namespace}/${key.name} is not held by "${renewal.expectedHolder}"`,
      );
    return updated;
  }

  renewObservedLease(
    key: LeaseKey,
    observation: LeaseObservation,
    expectedHolder: string,
    now: Millis,
  ): Promise<StoredLease | undefined> {
    return this.updateLeaseIf(key, RECORD_HOLDER_CLUSTER_RENEWAL, RENEWAL_BY_HOLDER_IN_ITS_CLUSTER, {
      ':expectedHolder': expectedHolder,
      ':cluster': observation.cluster,
      ':lds': observation.leaseDurationSeconds,
      ':now': now,
      ':observedRenewTime': observation.renewTime,
      ':change': renewalChange(key),
    });
  }

  async deferTakeover(
    key: LeaseKey,
    expected: StoredLease,
    { notBefore, holderClusterOut }: TakeoverDeferral,
    now: Millis,
  ): Promise<boolean> {
    const updated = await this.updateLeaseIf(
      key,
      holderClusterOut ? DEFER_TAKEOVER_CLUSTER_OUT : DEFER_TAKEOVER_CLUSTER_BACK,
      LEASE_VERSION_MATCHES,
      {
        ':notBefore': notBefore,
        ':change': 'deferred',
        ':now': now,
        ':expectedVersion': expected.version,
        ...(holderClusterOut && { ':true': true }),
      },
    );
    return updated !== undefined;
  }

  /**
   * One conditional update of the lease record (it sets `#change` and adds `:one` to the version)
   * that returns the record as written, at no read cost; undefined when the condition failed.
   */
  private async updateLeaseIf(
    key: LeaseKey,
    update: string,
    condition: string,
    values: Record<string, unknown>,
  ): Promise<StoredLease | undefined> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: partitionKey(key), sk: LEASE_SK },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#change': 'change' },
          ExpressionAttributeValues: { ...values, ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return leaseFromItem(out.Attributes as LeaseItem);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async observeLease(
    key: LeaseKey,
    observation: LeaseObservation,
    expected: StoredLease | undefined,
    now: Millis,
  ): Promise<boolean> {
    // A Lease that existed before we decided anything (e.g. held by a legacy elector) is recorded
    // as it is, so the election treats its holder as live instead of overwriting it.
    const current: LeaseRecord = expected?.record ?? { term: 0 };
    const sameHolder = (current.holderIdentity ?? '') === observation.holderIdentity;
    const released = observation.holderIdentity === '' && !sameHolder;
    // A term of ours the record has not reached was issued into a record we lost: a new holding.
    const termAhead = (observation.shownTerm ?? 0) > current.term;
    if (expected !== undefined && (sameHolder || released) && !termAhead) {
      // The recorded holder renewed or released: liveness moves to now, on our clock.
      const updated = await this.updateLeaseIf(
        key,
        released ? RECORD_OBSERVED_RELEASE : RECORD_OBSERVED_RENEWAL,
        released ? LEASE_VERSION_MATCHES : RENEWAL_BY_HOLDER_NEWER_THAN_LAST,
        {
          ':holder': observation.holderIdentity,
          ':lds': observation.leaseDurationSeconds,
          ':now': now,
          ':observedRenewTime': observation.renewTime,
          ':change': released ? 'release' : renewalChange(key),
          ...(released
            ? { ':expectedVersion': expected.version, ':releasedHolder': current.holderIdentity ?? '' }
            : { ':expectedHolder': current.holderIdentity ?? '' }),
        },
      );
      return updated !== undefined;
    }
    try {
      // Someone else holds it (a legacy elector took an expired lease): a new holder, a new term.
      const record = {
        ...current,
        holderIdentity: observation.holderIdentity,
        holderCluster: observation.cluster,
        leaseDurationSeconds: observation.leaseDurationSeconds,
        renewTime: now,
        term: seenHoldingTerm(current.term, {
          holder: observation.holderIdentity,
          shownTerm: observation.shownTerm,
          highestShownTerm: observation.highestShownTerm,
        }),
      };
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: partitionKey(key),
            sk: LEASE_SK,
            kind: 'lease',
            namespace: key.namespace,
            name: key.name,
            ...recordAttributes(record),
            observedRenewTime: observation.renewTime,
            version: (expected?.version ?? 0) + 1,
            change: 'observed',
            updatedAt: now,
          },
          ConditionExpression: expected === undefined ? LEASE_IS_NEW : LEASE_VERSION_MATCHES,
          ...(expected !== undefined && {
            ExpressionAttributeValues: { ':expectedVersion': expected.version },
          }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async removeCandidate(key: LeaseKey, cluster: string, name: string, renewTime: Millis): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: partitionKey(key), sk: candidateSortKey(cluster, name) },
          ConditionExpression: CANDIDATE_NOT_RENEWED_SINCE,
          ExpressionAttributeValues: { ':renewTime': renewTime },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async armTimer(key: LeaseKey, dueAt: Millis, now: Millis): Promise<ArmedTimer | undefined> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: partitionKey(key), sk: TIMER_SK },
          UpdateExpression: 'SET dueAt = :dueAt, kind = :kind',
          ConditionExpression: NO_EARLIER_TIMER_PENDING,
          ExpressionAttributeValues: { ':dueAt': dueAt, ':now': now, ':kind': 'timer' },
          ReturnValues: 'UPDATED_OLD',
        }),
      );
      const replaced = out.Attributes?.dueAt;
      return typeof replaced === 'number' ? { replaced } : {};
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async disarmTimer(key: LeaseKey, armed: Millis, replaced: Millis | undefined, now: Millis): Promise<void> {
    const target = { TableName: this.tableName, Key: { pk: partitionKey(key), sk: TIMER_SK } };
    try {
      await this.doc.send(
        replaced !== undefined && replaced > now
          ? new UpdateCommand({
              ...target,
              UpdateExpression: 'SET dueAt = :replaced',
              ConditionExpression: TIMER_ARMED_FOR,
              ExpressionAttributeValues: { ':armed': armed, ':replaced': replaced },
            })
          : new DeleteCommand({
              ...target,
              ConditionExpression: TIMER_ARMED_FOR,
              ExpressionAttributeValues: { ':armed': armed },
            }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async *scanLeases(): AsyncIterable<ScannedLease> {
    const pages = paginateScan(
      { client: this.doc },
      {
        TableName: this.tableName,
        ConsistentRead: true,
        ...(this.scanPageItems !== undefined && { Limit: this.scanPageItems }),
      },
    );
    yield* groupByPartition(
      (async function* () {
        for await (const page of pages) yield* (page.Items ?? []) as Record<string, unknown>[];
      })(),
    );
  }
}
