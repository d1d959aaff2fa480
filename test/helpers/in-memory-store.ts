import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { LeaseCandidateObject } from '../../lib/api/leasecandidate.js';
import { seenHoldingTerm } from '../../lib/election/terms.js';
import { CANDIDATE_VALID_MS } from '../../lib/election/timing.js';
import type { Candidate, LeaseRecord, Millis } from '../../lib/election/types.js';
import { ConflictError, StaleHeartbeatError } from '../../lib/errors.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import type { Clock } from '../../lib/ports/schedule.js';
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
} from '../../lib/ports/store.js';
import {
  type CandidateItem,
  candidateFromItem,
  candidateTtl,
  type LeaseItem,
  leaseFromItem,
  leaseStateFromItems,
  recordAttributes,
  renewalChange,
  specKeyOf,
} from '../../lib/store/items.js';
import {
  candidateSortKey,
  LEASE_SK,
  leaseKeyFromPartition,
  partitionKey,
  TIMER_SK,
} from '../../lib/store/keys.js';

/**
 * An in-memory table with the conditional semantics of DynamoDbStore, condition by condition
 * (lib/store/conditions.ts), for model tests. Each DynamoDB request of the real adapter is one
 * atomic step here, preceded by an awaited `gate` so a test scheduler can interleave requests of
 * concurrent invocations, or crash an invocation between two of them.
 */

export interface TimerItem {
  pk: string;
  sk: string;
  kind?: 'timer';
  dueAt?: Millis;
}

export type TableItem = CandidateItem | LeaseItem | TimerItem;

let ordinals = 0;

/** Orders writes across the table and the in-memory clusters of a test. */
export function nextOrdinal(): number {
  return ++ordinals;
}

/** One committed request, on the coordinator's clock. `old`/`new` undefined: no item before/after. */
export interface CommittedWrite {
  readonly seq: number;
  readonly ordinal: number;
  readonly at: Millis;
  readonly method: string;
  readonly pk: string;
  readonly sk: string;
  readonly old: TableItem | undefined;
  readonly new: TableItem | undefined;
}

/** A heartbeat putHeartbeat returned for (not threw): `seq` is the write that stored it. */
export interface AcceptedHeartbeat {
  readonly pk: string;
  readonly sk: string;
  readonly renewTime: Millis;
  readonly seq: number;
}

/** Called before each request; may throw (a crash) or wait (a scheduler). */
export type RequestGate = (request: string) => Promise<void>;

/** A condition that failed: the item as it was (ReturnValuesOnConditionCheckFailure: ALL_OLD). */
class ConditionFailed extends Error {
  constructor(readonly item: TableItem | undefined) {
    super('conditional check failed');
  }
}

const noGate: RequestGate = async () => {};

function keyOf(pk: string, sk: string): string {
  return `${pk}\u0000${sk}`;
}

/** DynamoDB comparisons with a missing attribute are false. */
function has<T>(value: T | undefined): value is T {
  return value !== undefined;
}

/** The shared table: items, the history of committed writes, and the stream of changes. */
export class InMemoryTable {
  private readonly items = new Map<string, TableItem>();
  readonly history: CommittedWrite[] = [];
  readonly stream: DynamoDBRecord[] = [];
  readonly accepted: AcceptedHeartbeat[] = [];
  private seq = 0;

  constructor(readonly clock: Clock) {}

  /** A CoordinatorStore over this table whose requests pass through `gate`. */
  store(gate: RequestGate = noGate): InMemoryStore {
    return new InMemoryStore(this, gate);
  }

  get(pk: string, sk: string): TableItem | undefined {
    const item = this.items.get(keyOf(pk, sk));
    return item === undefined ? undefined : structuredClone(item);
  }

  /** One partition, sorted by sort key, as a Query returns it. */
  query(pk: string): TableItem[] {
    return [...this.items.values()]
      .filter((item) => item.pk === pk)
      .sort((a, b) => (a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0))
      .map((item) => structuredClone(item));
  }

  partitions(): string[] {
    return [...new Set([...this.items.values()].map((item) => item.pk))];
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Commits `next` (undefined deletes) if `condition` holds for the current item. */
  commit(
    method: string,
    pk: string,
    sk: string,
    condition: (old: TableItem | undefined) => boolean,
    next: (old: TableItem | undefined) => TableItem | undefined,
  ): TableItem | undefined {
    const id = keyOf(pk, sk);
    const old = this.items.get(id);
    if (!condition(old)) throw new ConditionFailed(old === undefined ? undefined : structuredClone(old));
    const written = next(old === undefined ? undefined : structuredClone(old));
    if (written === undefined) this.items.delete(id);
    else this.items.set(id, structuredClone(written));
    this.seq++;
    const at = this.clock();
    this.history.push({ seq: this.seq, ordinal: nextOrdinal(), at, method, pk, sk, old, new: written });
    this.emit(pk, sk, old, written);
    return written === undefined ? undefined : structuredClone(written);
  }

  /** Like DynamoDB Streams (NEW_AND_OLD_IMAGES): one record per change; a write that changes nothing emits none. */
  private emit(pk: string, sk: string, old: TableItem | undefined, written: TableItem | undefined): void {
    if (old === undefined && written === undefined) return;
    if (old !== undefined && written !== undefined && JSON.stringify(old) === JSON.stringify(written)) return;
    const eventName = old === undefined ? 'INSERT' : written === undefined ? 'REMOVE' : 'MODIFY';
    const image = (item: TableItem) => marshall(item, { removeUndefinedValues: true }) as never;
    this.stream.push({
      eventID: String(this.seq),
      eventName,
      dynamodb: {
        Keys: { pk: { S: pk }, sk: { S: sk } },
        SequenceNumber: String(this.seq).padStart(21, '0'),
        ...(old !== undefined && { OldImage: image(old) }),
        ...(written !== undefined && { NewImage: image(written) }),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
  }
}

/** A copy without undefined attributes, as the document client writes with removeUndefinedValues. */
function defined<T extends object>(item: T): T {
  return Object.fromEntries(Object.entries(item).filter(([, value]) => value !== undefined)) as T;
}

export class InMemoryStore implements CoordinatorStore {
  constructor(
    private readonly table: InMemoryTable,
    private readonly gate: RequestGate,
  ) {}

  private async request<T>(name: string, run: () => T): Promise<T> {
    await this.gate(name);
    return run();
  }

  async putHeartbeat(
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
        const updated = await this.request('putHeartbeat:renew', () =>
          this.table.commit(
            'putHeartbeat',
            pk,
            sk,
            (old) => {
              const item = old as CandidateItem | undefined;
              return (
                item !== undefined &&
                has(item.renewTime) &&
                item.renewTime < heartbeat.renewTime &&
                item.specKey === specKey &&
                has(item.renewedAt) &&
                item.renewedAt >= now - CANDIDATE_VALID_MS
              );
            },
            (old) => {
              const { awaitingAck: _removed, ...rest } = old as CandidateItem;
              return defined({
                ...rest,
                renewTime: heartbeat.renewTime,
                renewedAt: now,
                change: 'renew' as const,
                expiresAt: candidateTtl(now),
                resourceVersion: heartbeat.resourceVersion ?? rest.resourceVersion,
              });
            },
          ),
        );
        this.table.accepted.push({ pk, sk, renewTime: heartbeat.renewTime, seq: this.table.lastSeq });
        return { created: false, candidate: candidateFromItem(updated as CandidateItem) };
      } catch (error) {
        if (!(error instanceof ConditionFailed)) throw error;
        stored = error.item as CandidateItem | undefined;
      }
      if (stored !== undefined && stored.renewTime >= heartbeat.renewTime) {
        throw new StaleHeartbeatError(
          `heartbeat renewTime ${new Date(heartbeat.renewTime).toISOString()} is not newer than the stored ${new Date(stored.renewTime).toISOString()}`,
          candidateFromItem(stored),
        );
      }
      const item: CandidateItem = defined({
        pk,
        sk,
        kind: 'candidate' as const,
        cluster,
        namespace: heartbeat.namespace,
        name: heartbeat.name,
        leaseName: heartbeat.leaseName,
        apiVersion: heartbeat.apiVersion,
        binaryVersion: heartbeat.binaryVersion,
        emulationVersion: heartbeat.emulationVersion,
        strategy: heartbeat.strategy,
        preferredStrategies:
          heartbeat.preferredStrategies === undefined ? undefined : [...heartbeat.preferredStrategies],
        specKey,
        createdAt: stored?.createdAt ?? heartbeat.creationTimestamp ?? now,
        renewTime: heartbeat.renewTime,
        renewedAt: stored === undefined ? Math.min(now, heartbeat.renewTime) : now,
        resourceVersion: heartbeat.resourceVersion,
        change: 'spec' as const,
        expiresAt: candidateTtl(now),
      });
      const readRenewTime = stored?.renewTime;
      try {
        await this.request('putHeartbeat:put', () =>
          this.table.commit(
            'putHeartbeat',
            pk,
            sk,
            (old) =>
              readRenewTime === undefined
                ? old === undefined
                : old !== undefined && (old as CandidateItem).renewTime === readRenewTime,
            () => item,
          ),
        );
        this.table.accepted.push({ pk, sk, renewTime: heartbeat.renewTime, seq: this.table.lastSeq });
        return { created: stored === undefined, candidate: candidateFromItem(item) };
      } catch (error) {
        if (!(error instanceof ConditionFailed) || attempt >= 3) throw error;
      }
    }
  }

  async loadLease(key: LeaseKey): Promise<LeaseState> {
    const items = await this.request('loadLease', () => this.table.query(partitionKey(key)));
    return leaseStateFromItems(items as unknown as Record<string, unknown>[]);
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
      await this.request('writeLease', () =>
        this.table.commit('writeLease', item.pk, LEASE_SK, versionMatches(expectedVersion), () => item),
      );
    } catch (error) {
      if (error instanceof ConditionFailed) {
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

  async pingCandidates(
    key: LeaseKey,
    candidates: readonly Candidate[],
    now: Millis,
  ): Promise<readonly Candidate[]> {
    const pk = partitionKey(key);
    const results = await Promise.allSettled(
      candidates.map((c) =>
        this.request('pingCandidates', () =>
          this.table.commit(
            'pingCandidates',
            pk,
            candidateSortKey(c.cluster, c.name),
            (old) => {
              const item = old as CandidateItem | undefined;
              return (
                item !== undefined &&
                item.renewedAt === (c.renewTime ?? -1) &&
                (item.pingTime === undefined || item.pingTime === (c.pingTime ?? -1))
              );
            },
            (old) => ({
              ...(old as CandidateItem),
              pingTime: now,
              awaitingAck: true,
              change: 'ping' as const,
            }),
          ),
        ),
      ),
    );
    const pinged: Candidate[] = [];
    results.forEach((result, index) => {
      if (result.status === 'fulfilled') pinged.push(candidates[index] as Candidate);
      else if (!(result.reason instanceof ConditionFailed)) throw result.reason;
    });
    return pinged;
  }

  async deleteCandidates(key: LeaseKey, candidates: readonly Candidate[]): Promise<void> {
    const pk = partitionKey(key);
    await Promise.all(
      candidates.map(async (c) => {
        try {
          await this.request('deleteCandidates', () =>
            this.table.commit(
              'deleteCandidates',
              pk,
              candidateSortKey(c.cluster, c.name),
              (old) => old !== undefined && (old as CandidateItem).renewedAt === (c.renewTime ?? -1),
              () => undefined,
            ),
          );
        } catch (error) {
          if (!(error instanceof ConditionFailed)) throw error;
        }
      }),
    );
  }

  async amendLiveLease(
    key: LeaseKey,
    read: StoredLease,
    write: LeaseRecord,
    now: Millis,
  ): Promise<StoredLease> {
    const as = read.record;
    try {
      const updated = await this.request('amendLiveLease', () => {
        refuseUndefinedValues('amendLiveLease', {
          holderIdentity: as.holderIdentity,
          strategy: write.strategy,
        });
        return this.table.commit(
          'amendLiveLease',
          partitionKey(key),
          LEASE_SK,
          (old) => {
            const item = old as LeaseItem | undefined;
            return (
              item !== undefined &&
              has(item.holderIdentity) &&
              item.holderIdentity === as.holderIdentity &&
              item.term === as.term &&
              item.preferredHolder === as.preferredHolder &&
              item.strategy === as.strategy
            );
          },
          (old) =>
            defined({
              ...(old as LeaseItem),
              ...(write.preferredHolder !== undefined && { preferredHolder: write.preferredHolder }),
              strategy: write.strategy,
              change: 'decision' as const,
              updatedAt: now,
              version: (old as LeaseItem).version + 1,
            }),
        );
      });
      return leaseFromItem(updated as LeaseItem);
    } catch (error) {
      if (error instanceof ConditionFailed)
        throw new ConflictError(`lease ${key.namespace}/${key.name}: its holding changed since it was read`, {
          cause: error,
        });
      throw error;
    }
  }

  async recordRenewal(key: LeaseKey, renewal: LeaseRenewal, now: Millis): Promise<StoredLease> {
    const releasing = renewal.holderIdentity === '';
    try {
      const updated = await this.request('recordRenewal', () =>
        this.table.commit(
          'recordRenewal',
          partitionKey(key),
          LEASE_SK,
          (old) => old !== undefined && (old as LeaseItem).holderIdentity === renewal.expectedHolder,
          (old) => ({
            ...withoutDeferral(old as LeaseItem),
            holderIdentity: renewal.holderIdentity,
            leaseDurationSeconds: renewal.leaseDurationSeconds,
            renewTime: now,
            ...(releasing && { releasedHolder: renewal.expectedHolder, releasedAt: now }),
            change: releasing ? ('release' as const) : ('renewal' as const),
            updatedAt: now,
            version: (old as LeaseItem).version + 1,
          }),
        ),
      );
      return leaseFromItem(updated as LeaseItem);
    } catch (error) {
      if (error instanceof ConditionFailed) {
        throw new ConflictError(
          `lease ${key.namespace}/${key.name} is not held by "${renewal.expectedHolder}"`,
          {
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  async deferTakeover(
    key: LeaseKey,
    expected: StoredLease,
    { notBefore, holderClusterOut }: TakeoverDeferral,
    now: Millis,
  ): Promise<boolean> {
    try {
      await this.request('deferTakeover', () =>
        this.table.commit(
          'deferTakeover',
          partitionKey(key),
          LEASE_SK,
          (old) => old !== undefined && (old as LeaseItem).version === expected.version,
          (old) => ({
            ...withoutDeferral(old as LeaseItem),
            ...(holderClusterOut && { holderClusterOut: true as const }),
            takeoverNotBefore: notBefore,
            change: 'deferred' as const,
            updatedAt: now,
            version: (old as LeaseItem).version + 1,
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionFailed) return false;
      throw error;
    }
  }

  async renewObservedLease(
    key: LeaseKey,
    observation: LeaseObservation,
    expectedHolder: string,
    now: Millis,
  ): Promise<StoredLease | undefined> {
    try {
      const updated = await this.request('renewObservedLease', () =>
        this.table.commit(
          'renewObservedLease',
          partitionKey(key),
          LEASE_SK,
          (old) => {
            const item = old as LeaseItem | undefined;
            return (
              item !== undefined &&
              item.holderIdentity === expectedHolder &&
              item.holderCluster === observation.cluster &&
              (item.observedRenewTime === undefined || item.observedRenewTime < observation.renewTime)
            );
          },
          (old) => ({
            ...withoutDeferral(old as LeaseItem),
            leaseDurationSeconds: observation.leaseDurationSeconds,
            renewTime: now,
            observedRenewTime: observation.renewTime,
            change: renewalChange(key),
            updatedAt: now,
            version: (old as LeaseItem).version + 1,
          }),
        ),
      );
      return leaseFromItem(updated as LeaseItem);
    } catch (error) {
      if (error instanceof ConditionFailed) return undefined;
      throw error;
    }
  }

  async observeLease(
    key: LeaseKey,
    observation: LeaseObservation,
    expected: StoredLease | undefined,
    now: Millis,
  ): Promise<boolean> {
    const current: LeaseRecord = expected?.record ?? { term: 0 };
    const sameHolder = (current.holderIdentity ?? '') === observation.holderIdentity;
    const released = observation.holderIdentity === '' && !sameHolder;
    // A term of ours the record has not reached was issued into a record we lost: a new holding.
    const termAhead = (observation.shownTerm ?? 0) > current.term;
    const pk = partitionKey(key);
    try {
      if (expected !== undefined && (sameHolder || released) && !termAhead) {
        const expectedHolder = current.holderIdentity ?? '';
        await this.request('observeLease:update', () =>
          this.table.commit(
            'observeLease',
            pk,
            LEASE_SK,
            (old) => {
              const item = old as LeaseItem | undefined;
              if (released) return item !== undefined && item.version === expected.version;
              return (
                item !== undefined &&
                item.holderIdentity === expectedHolder &&
                (item.observedRenewTime === undefined || item.observedRenewTime < observation.renewTime)
              );
            },
            (old) => ({
              ...withoutDeferral(old as LeaseItem),
              holderIdentity: observation.holderIdentity,
              leaseDurationSeconds: observation.leaseDurationSeconds,
              renewTime: now,
              observedRenewTime: observation.renewTime,
              ...(released && { releasedHolder: expectedHolder, releasedAt: now }),
              change: released ? ('release' as const) : renewalChange(key),
              updatedAt: now,
              version: (old as LeaseItem).version + 1,
            }),
          ),
        );
        return true;
      }
      const record: LeaseRecord = {
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
      const item: LeaseItem = {
        pk,
        sk: LEASE_SK,
        kind: 'lease',
        namespace: key.namespace,
        name: key.name,
        ...recordAttributes(record),
        term: record.term,
        observedRenewTime: observation.renewTime,
        version: (expected?.version ?? 0) + 1,
        change: 'observed',
        updatedAt: now,
      };
      await this.request('observeLease:put', () =>
        this.table.commit('observeLease', pk, LEASE_SK, versionMatches(expected?.version), () => item),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionFailed) return false;
      throw error;
    }
  }

  async removeCandidate(key: LeaseKey, cluster: string, name: string, renewTime: Millis): Promise<void> {
    try {
      await this.request('removeCandidate', () =>
        this.table.commit(
          'removeCandidate',
          partitionKey(key),
          candidateSortKey(cluster, name),
          (old) => old !== undefined && (old as CandidateItem).renewTime <= renewTime,
          () => undefined,
        ),
      );
    } catch (error) {
      if (!(error instanceof ConditionFailed)) throw error;
    }
  }

  async armTimer(key: LeaseKey, dueAt: Millis, now: Millis): Promise<ArmedTimer | undefined> {
    let replaced: Millis | undefined;
    try {
      await this.request('armTimer', () =>
        this.table.commit(
          'armTimer',
          partitionKey(key),
          TIMER_SK,
          (old) => {
            const pending = (old as TimerItem | undefined)?.dueAt;
            return pending === undefined || pending > dueAt || pending <= now;
          },
          (old) => {
            replaced = (old as TimerItem | undefined)?.dueAt;
            return { ...(old ?? { pk: partitionKey(key), sk: TIMER_SK }), dueAt, kind: 'timer' as const };
          },
        ),
      );
      return replaced === undefined ? {} : { replaced };
    } catch (error) {
      if (error instanceof ConditionFailed) return undefined;
      throw error;
    }
  }

  async disarmTimer(key: LeaseKey, armed: Millis, replaced: Millis | undefined, now: Millis): Promise<void> {
    try {
      await this.request('disarmTimer', () =>
        this.table.commit(
          'disarmTimer',
          partitionKey(key),
          TIMER_SK,
          (old) => (old as TimerItem | undefined)?.dueAt === armed,
          (old) =>
            replaced !== undefined && replaced > now ? { ...(old as TimerItem), dueAt: replaced } : undefined,
        ),
      );
    } catch (error) {
      if (!(error instanceof ConditionFailed)) throw error;
    }
  }

  /** One request per partition, as a Scan's pages are separate reads that others can write between. */
  async *scanLeases(): AsyncIterable<ScannedLease> {
    const partitions = await this.request('scanLeases', () => this.table.partitions());
    for (const pk of partitions) {
      const items = await this.request('scanLeases', () => this.table.query(pk));
      yield {
        key: leaseKeyFromPartition(pk),
        state: leaseStateFromItems(items as unknown as Record<string, unknown>[]),
      };
    }
  }
}

/**
 * DynamoDB refuses a request whose expression names a value that is undefined (the document
 * client drops undefined values) with a ValidationException, before any condition is checked:
 * the same request fails here the same way, not as a failed condition.
 */
function refuseUndefinedValues(request: string, values: Record<string, unknown>): void {
  const missing = Object.keys(values).filter((name) => values[name] === undefined);
  if (missing.length > 0)
    throw new Error(`${request}: an expression attribute value is not defined: ${missing.join(', ')}`);
}

/** LEASE_IS_NEW when nothing was read, LEASE_VERSION_MATCHES otherwise. */
function versionMatches(expectedVersion: number | undefined): (old: TableItem | undefined) => boolean {
  return (old) =>
    expectedVersion === undefined
      ? old === undefined
      : old !== undefined && (old as LeaseItem).version === expectedVersion;
}

/** A holder that renews or releases is heard from: any takeover held off for it is moot. */
function withoutDeferral(item: LeaseItem): LeaseItem {
  const { takeoverNotBefore: _notBefore, holderClusterOut: _out, ...rest } = item;
  return rest;
}
