import type { Candidate, ElectionStep, LeaseRecord, Millis } from '../election/types.js';
import type { CoordinatorDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { CoordinatorStore, LeaseState, StoredLease } from '../ports/store.js';
import { recordOnceWritten } from './decision-history.js';
import { armLeaseTimer } from './lease-timer.js';

/** What one reconcile read, judged on the clock before any cluster read (decide-after-reads.ts). */
export interface Reading {
  readonly key: LeaseKey;
  readonly state: LeaseState;
  readonly judgedAt: Millis;
  /** The lease's preemption policy is not Never. */
  readonly preempt: boolean;
  /** The timer this look delivers, if it is one taken early (ReconcileOptions). */
  readonly delivering?: Millis;
  /** The timer this look is a hop of, to send on unless the step replaces it (ReconcileOptions). */
  readonly hop?: Millis;
  /** Told when the hop has been sent on. */
  readonly onHopSent: () => void;
  /** A takeover check before this look recorded what the holder's Lease showed and the record did not (ReconcileOptions). */
  readonly holderNewsRecorded?: boolean;
}

/** The step decided so far, and the time it is dated at. */
export interface Decision {
  readonly step: ElectionStep;
  readonly now: Millis;
}

/**
 * Writes the step, pings and arms the timer together. The timer is armed alongside the write, not
 * after it: it is one round trip off a failover's critical path, and a timer armed for a write
 * that then loses its compare-and-set only costs one extra look at the lease (the retry arms its
 * own). All settle before returning (nothing may run on after a Lambda invocation ends), then the
 * first error is thrown. Returns who was pinged; a written decision that pings nobody is handed to
 * `decided` at once.
 *
 * Two decisions are timed from a LeaseCandidate to the Lease that shows them: a lease's first
 * (no record before it: the election of a new candidate), and a preemption, which names a better
 * candidate preferredHolder. Neither changes whom the lease's timer waits on: the first has no
 * holder to fail over from and its timer is due a lease duration later, and a preemption leaves the
 * holder and its deadline as they were. Their timer waits until what `decided` started (the
 * mirror's Lease write) has ended, rather than compete with the decision's write and that Lease
 * write for the table and the CPU (docs/design.md, the fast path). The history record of any
 * decision handed to `decided` waits for that pass as well: a takeover's Lease write is failover's
 * own critical path. Without a pass (`decided` starts none under elect and the sweep, and a step
 * that pings mirrors after it returns) the record waits for the write alone.
 */
export async function carryOut(
  deps: CoordinatorDeps,
  { key, state, delivering, hop, onHopSent, holderNewsRecorded }: Reading,
  { step, now }: Decision,
  decided: (written: StoredLease) => unknown,
): Promise<{ pinged: readonly Candidate[] }> {
  const pinging = step.ping.length > 0 ? deps.store.pingCandidates(key, step.ping, now) : undefined;
  let shown: unknown;
  const writing =
    step.write === null
      ? undefined
      : writeStep(deps.store, key, state, step, step.write, now).then((written) => {
          if (step.ping.length === 0) shown = decided(written);
          return written;
        });
  const armTimer = () =>
    armLeaseTimer(deps, key, { state, step, now, delivering, hop, onHopSent, holderNewsRecorded });
  // The write, once the mirror pass it started has ended too. Such a write that failed leaves the
  // timer to the retry, which arms its own.
  const mirrored = writing?.then(async (written) => {
    await Promise.resolve(shown).catch(() => undefined);
    return written;
  });
  // Its failure is the write's, thrown below; left unread (no history, no timer after it), it must
  // not go unhandled.
  mirrored?.catch(() => undefined);
  const timerAfterMirror = state.lease === undefined || step.action === 'preempt';
  const [pinged, written, armed] = await Promise.allSettled([
    pinging,
    writing,
    timerAfterMirror && mirrored !== undefined ? mirrored.then(armTimer) : armTimer(),
    recordOnceWritten(deps, key, { state, step, now }, { pinging, writing: mirrored }),
  ]);
  for (const result of [pinged, written, armed]) if (result.status === 'rejected') throw result.reason;
  return { pinged: pinged.status === 'fulfilled' ? (pinged.value ?? []) : [] };
}

/**
 * A preemption only amends the live lease, so the holder's renewals landing meanwhile do not
 * make it lose its compare-and-set; every other decision is a compare-and-set on the version.
 */
async function writeStep(
  store: CoordinatorStore,
  key: LeaseKey,
  state: LeaseState,
  step: ElectionStep,
  record: LeaseRecord,
  now: Millis,
): Promise<StoredLease> {
  if (step.action === 'preempt' && state.lease !== undefined)
    return store.amendLiveLease(key, state.lease, record, now);
  await store.writeLease(key, record, state.lease?.version, now);
  return { record, version: (state.lease?.version ?? 0) + 1 };
}
