import { expect } from 'vitest';
import type { LeaseCandidateObject } from '../../../lib/api/leasecandidate.js';
import type { LeaseRecord, Millis } from '../../../lib/election/types.js';
import { ConditionFailedError } from '../../../lib/errors.js';
import type { DecisionHistory } from '../../../lib/ports/history.js';
import type { LeaseKey } from '../../../lib/ports/lease-key.js';
import type { Clock } from '../../../lib/ports/schedule.js';
import type { CoordinatorStore, LeaseObservation, StoredLease } from '../../../lib/ports/store.js';
import { candidateTtl, specKeyOf } from '../../../lib/store/items.js';
import { candidateSortKey, LEASE_SK, partitionKey } from '../../../lib/store/keys.js';

/** A store under test, and a raw read of one item (for what the port does not return). */
export interface StoreUnderContract {
  readonly store: CoordinatorStore;
  /** The same table's decision history, opened with CONTRACT_HISTORY (history-cases.ts). */
  readonly history: DecisionHistory;
  item(pk: string, sk: string): Promise<Record<string, unknown> | undefined>;
}

/**
 * Opens the store for one case. `clock` is the case's clock (the in-memory table stamps its
 * history with it). A store may be shared by every case: each case uses its own lease keys.
 */
export type OpenStore = (clock: Clock) => Promise<StoreUnderContract>;

/** The case's clock. It starts at the current whole second: DynamoDB Local deletes items whose TTL has passed. */
export class CaseClock {
  now: Millis = Math.floor(Date.now() / 1000) * 1000;
  readonly read: Clock = () => this.now;
  advance(ms: Millis): Millis {
    this.now += ms;
    return this.now;
  }
}

let leases = 0;

/** A lease key no other case uses; `scope` "a+b" is a lease group, anything else one cluster. */
export function freshKey(scope = 'alpha'): LeaseKey {
  leases += 1;
  return { scope, namespace: 'contract', name: `lease-${process.pid}-${leases}` };
}

export function heartbeat(
  name: string,
  renewTime: Millis,
  overrides: Partial<LeaseCandidateObject> = {},
): LeaseCandidateObject & { renewTime: Millis } {
  return {
    apiVersion: 'v1beta1',
    name,
    namespace: 'contract',
    leaseName: 'demo',
    binaryVersion: '1.34.0',
    emulationVersion: '1.33.0',
    strategy: 'OldestEmulationVersion',
    ...overrides,
    renewTime,
  };
}

export function observation(overrides: Partial<LeaseObservation> = {}): LeaseObservation {
  return {
    cluster: 'alpha',
    holderIdentity: 'holder-1',
    leaseDurationSeconds: 15,
    renewTime: 1_000,
    ...overrides,
  };
}

/** What the call threw; fails the case when it did not throw. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** One case's store and clock (opened before each case), and the reads and writes cases share. */
export class ContractContext {
  clock = new CaseClock();
  private opened: StoreUnderContract | undefined;

  async open(openStore: OpenStore): Promise<void> {
    this.clock = new CaseClock();
    this.opened = await openStore(this.clock.read);
  }

  get subject(): StoreUnderContract {
    if (this.opened === undefined) throw new Error('no store opened for this case');
    return this.opened;
  }

  get store(): CoordinatorStore {
    return this.subject.store;
  }

  get history(): DecisionHistory {
    return this.subject.history;
  }

  async lease(key: LeaseKey): Promise<StoredLease | undefined> {
    return (await this.store.loadLease(key)).lease;
  }

  /** A record held by holder-1 in cluster alpha, renewed now, under term 1. */
  held(overrides: Partial<LeaseRecord> = {}): LeaseRecord {
    return {
      holderIdentity: 'holder-1',
      holderCluster: 'alpha',
      leaseDurationSeconds: 15,
      acquireTime: this.clock.now,
      renewTime: this.clock.now,
      leaseTransitions: 0,
      strategy: 'OldestEmulationVersion',
      term: 1,
      ...overrides,
    };
  }

  /** Creates the lease record as a decision would: version 1. */
  async seed(key: LeaseKey, record: LeaseRecord): Promise<StoredLease> {
    await this.store.writeLease(key, record, undefined, this.clock.now);
    const stored = await this.lease(key);
    if (stored === undefined) throw new Error('seeded lease not stored');
    return stored;
  }

  /**
   * The write fails its condition the one way every store reports it: ConditionFailedError,
   * carrying the item as stored (which the failed write left as it was; undefined when none).
   */
  async expectConditionFailed(write: Promise<unknown>, key: LeaseKey, sk: string = LEASE_SK): Promise<void> {
    await this.expectItemOf(await rejection(write), key, sk);
  }

  /** `error` is ConditionFailedError (a ConflictError) carrying the item as stored now. */
  async expectItemOf(error: unknown, key: LeaseKey, sk: string = LEASE_SK): Promise<void> {
    expect(error).toBeInstanceOf(ConditionFailedError);
    expect((error as ConditionFailedError).item).toEqual(await this.subject.item(partitionKey(key), sk));
  }

  /**
   * The lease item holds what the port reads back and nothing more, with `kind` and `change`
   * (what the stream filters wake on) and when it was written.
   */
  async expectLeaseItem(key: LeaseKey, change: string, updatedAt: Millis): Promise<void> {
    const stored = await this.lease(key);
    if (stored === undefined) throw new Error('no lease stored');
    const { record, ...state } = stored;
    expect(await this.subject.item(partitionKey(key), LEASE_SK)).toEqual({
      pk: partitionKey(key),
      sk: LEASE_SK,
      kind: 'lease',
      namespace: key.namespace,
      name: key.name,
      ...record,
      ...state,
      change,
      updatedAt,
    });
  }

  /** The same for a candidate item; its TTL runs from its last heartbeat. */
  async expectCandidateItem(key: LeaseKey, name: string, change: string, heartbeatAt: Millis): Promise<void> {
    const candidate = (await this.store.loadLease(key)).candidates.find((c) => c.name === name);
    if (candidate === undefined) throw new Error(`no candidate ${name} stored`);
    const { creationTimestamp, renewTime, sentRenewTime, ...fields } = candidate;
    expect(await this.subject.item(partitionKey(key), candidateSortKey(candidate.cluster, name))).toEqual({
      pk: partitionKey(key),
      sk: candidateSortKey(candidate.cluster, name),
      kind: 'candidate',
      ...fields,
      specKey: specKeyOf(candidate),
      createdAt: creationTimestamp,
      renewTime: sentRenewTime,
      renewedAt: renewTime,
      change,
      expiresAt: candidateTtl(heartbeatAt),
    });
  }
}
