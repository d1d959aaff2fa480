import type { Candidate, LeaseRecord, Millis } from '../election/types.js';
import { ConditionFailedError, onConditionFailed } from '../errors.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type {
  ArmedTimer,
  CoordinatorStore,
  HeartbeatOptions,
  HeartbeatResult,
  LeaseObservation,
  LeaseRenewal,
  LeaseState,
  ScannedLease,
  StoredLease,
  TakeoverDeferral,
} from '../ports/store.js';
import { type CandidateItem, candidateFromItem, type LeaseItem, leaseFromItem } from './items.js';
import {
  type Heartbeat,
  planDeleteExpired,
  planHeartbeatPut,
  planHeartbeatRenewal,
  planPing,
  planRemoveCandidate,
} from './plan-candidates.js';
import {
  planAmendLiveLease,
  planDeferTakeover,
  planRecordRenewal,
  planRenewObservedLease,
  planWriteLease,
} from './plan-lease.js';
import { planObserveLease } from './plan-observed-lease.js';
import { planArmTimer, planDisarmTimer } from './plan-timer.js';
import type { WritePlan } from './write-plan.js';

/** How often a heartbeat retries after losing a race with another heartbeat of the same candidate. */
const HEARTBEAT_RACE_RETRIES = 3;

/**
 * The CoordinatorStore port over any table that can carry out a WritePlan. The planners decide
 * every write; this class only strings them together (a heartbeat's renewal, then its put) and
 * turns the item a write returns into the port's types. An adapter supplies `execute` (one
 * request per plan) and the reads.
 */
export abstract class PlannedStore implements CoordinatorStore {
  /**
   * Carries out one plan as one request: the item as written (or, for `returns: 'old'`, as it was
   * before); undefined for a put or delete. A failed condition throws ConditionFailedError.
   */
  protected abstract execute(plan: WritePlan): Promise<Record<string, unknown> | undefined>;

  abstract loadLease(key: LeaseKey): Promise<LeaseState>;

  abstract scanLeases(): AsyncIterable<ScannedLease>;

  /**
   * The common renewal is one conditional update; a new candidate, a changed spec or a return
   * from expiry is a put over the item the failed update returned, decided again from the top
   * when another heartbeat of the same candidate lands in between. A candidate its cluster has just
   * created is put first, over no item (HeartbeatOptions).
   */
  async putHeartbeat(
    key: LeaseKey,
    cluster: string,
    heartbeat: Heartbeat,
    now: Millis,
    { created = false }: HeartbeatOptions = {},
  ): Promise<HeartbeatResult> {
    if (created) {
      const put = planHeartbeatPut(key, cluster, heartbeat, undefined, now);
      try {
        await this.execute(put);
        return { created: true, candidate: candidateFromItem(put.item) };
      } catch (error) {
        // Stored already (a watch replay, a relist): the usual way, from the top.
        itemOfFailed(error);
      }
    }
    for (let attempt = 0; ; attempt++) {
      let stored: CandidateItem | undefined;
      try {
        const renewed = await this.execute(planHeartbeatRenewal(key, cluster, heartbeat, now));
        return { created: false, candidate: candidateFromItem(renewed as unknown as CandidateItem) };
      } catch (error) {
        stored = itemOfFailed(error) as CandidateItem | undefined;
      }
      const put = planHeartbeatPut(key, cluster, heartbeat, stored, now);
      try {
        await this.execute(put);
        return { created: stored === undefined, candidate: candidateFromItem(put.item) };
      } catch (error) {
        if (!(error instanceof ConditionFailedError) || attempt >= HEARTBEAT_RACE_RETRIES) throw error;
      }
    }
  }

  async writeLease(key: LeaseKey, record: LeaseRecord, expectedVersion: number | undefined, now: Millis) {
    await this.execute(planWriteLease(key, record, expectedVersion, now));
  }

  amendLiveLease(key: LeaseKey, read: StoredLease, write: LeaseRecord, now: Millis): Promise<StoredLease> {
    return this.executeOnLease(planAmendLiveLease(key, read, write, now));
  }

  recordRenewal(key: LeaseKey, renewal: LeaseRenewal, now: Millis): Promise<StoredLease> {
    return this.executeOnLease(planRecordRenewal(key, renewal, now));
  }

  renewObservedLease(
    key: LeaseKey,
    observation: LeaseObservation,
    expectedHolder: string,
    now: Millis,
  ): Promise<StoredLease> {
    return this.executeOnLease(planRenewObservedLease(key, observation, expectedHolder, now));
  }

  async observeLease(
    key: LeaseKey,
    observation: LeaseObservation,
    expected: StoredLease | undefined,
    now: Millis,
  ): Promise<void> {
    await this.execute(planObserveLease(key, observation, expected, now));
  }

  async deferTakeover(
    key: LeaseKey,
    expected: StoredLease,
    deferral: TakeoverDeferral,
    now: Millis,
  ): Promise<void> {
    await this.execute(planDeferTakeover(key, expected, deferral, now));
  }

  /** Pings go out in parallel, as upstream does since 1.33; each one is its own conditional write. */
  async pingCandidates(
    key: LeaseKey,
    candidates: readonly Candidate[],
    now: Millis,
  ): Promise<readonly Candidate[]> {
    const held = await this.executeEach(candidates.map((c) => planPing(key, c, now)));
    return candidates.filter((_, index) => held[index]);
  }

  async deleteCandidates(key: LeaseKey, candidates: readonly Candidate[]): Promise<readonly Candidate[]> {
    const held = await this.executeEach(candidates.map((c) => planDeleteExpired(key, c)));
    return candidates.filter((_, index) => held[index]);
  }

  async removeCandidate(key: LeaseKey, cluster: string, name: string, renewTime: Millis): Promise<void> {
    await this.execute(planRemoveCandidate(key, cluster, name, renewTime));
  }

  async armTimer(key: LeaseKey, dueAt: Millis, now: Millis): Promise<ArmedTimer> {
    const replaced = (await this.execute(planArmTimer(key, dueAt, now)))?.dueAt;
    return typeof replaced === 'number' ? { replaced } : {};
  }

  async disarmTimer(key: LeaseKey, armed: Millis, replaced: Millis | undefined, now: Millis): Promise<void> {
    await this.execute(planDisarmTimer(key, armed, replaced, now));
  }

  private async executeOnLease(plan: WritePlan): Promise<StoredLease> {
    return leaseFromItem((await this.execute(plan)) as unknown as LeaseItem);
  }

  /**
   * Each plan as its own request, in parallel: which ones were written. Each write stands on its
   * own, so one whose condition failed is an outcome here, not an error; any other is thrown.
   */
  private async executeEach(plans: readonly WritePlan[]): Promise<boolean[]> {
    const results = await Promise.allSettled(plans.map((plan) => this.execute(plan)));
    return results.map((result) =>
      result.status === 'fulfilled' ? true : onConditionFailed(false)(result.reason),
    );
  }
}

/** The item a failed condition returned; anything else that went wrong is rethrown. */
function itemOfFailed(error: unknown): Readonly<Record<string, unknown>> | undefined {
  if (error instanceof ConditionFailedError) return error.item;
  throw error;
}
