import {
  type KnownLease,
  type ReconcileOptions,
  type ReconcileOutcome,
  reconcileLeaseWithOutcome,
} from '../coordinator/reconcile-lease.js';
import type { ElectionStep } from '../election/types.js';
import type { RawObject } from '../ports/cluster.js';
import type { CoordinatorDeps, MirrorDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { LeaseState } from '../ports/store.js';
import { partitionKey } from '../store/keys.js';
import { DecisionReads } from './decision-reads.js';
import { holderLeaseFence, holderLeaseReader } from './holder-lease-reader.js';
import { LatestPerKeyQueue } from './latest-per-key-queue.js';
import { mirrorLease } from './mirror.js';

/**
 * A release ingest has just recorded: the lease as that write left it, and the Lease it saw in the
 * holder's cluster. The step it triggers then reads neither the table nor that cluster before it
 * names the successor, and the mirror writes on top of the Lease seen: the successor is named one
 * table write and one Lease write after the release, as the in-tree controller does it in one.
 */
export interface RecordedRelease {
  readonly known: KnownLease;
  readonly cluster: string;
  readonly lease: RawObject;
}

/**
 * What ingest knows of a lease when it hands it to the fast path: the lease as it stands in the
 * table (KnownLease: the step reads nothing first), and the Leases it has just seen in clusters
 * (undefined where there is none), which answer the step's first read of each and the mirror's
 * read before its write. A RecordedRelease is one, with the Lease of the release.
 */
export interface KnownChange {
  readonly known: KnownLease;
  readonly leases: readonly SeenLease[];
}

export interface SeenLease {
  readonly cluster: string;
  readonly lease: RawObject | undefined;
}

function asKnownChange(change: RecordedRelease | KnownChange): KnownChange {
  return 'leases' in change
    ? change
    : { known: change.known, leases: [{ cluster: change.cluster, lease: change.lease }] };
}

/** Decisions in flight at once: enough to keep up with a burst of new candidates, few enough for a small Lambda. */
const CONCURRENCY = 8;

/**
 * Ingest's fast path: one reconcile step for a lease a cluster change touched, then the mirror
 * pass if the step wrote or pinged anything, so the Lease shows the outcome without waiting for
 * two stream polls. Both are the same conditional steps `elect` and `mirror` take from the stream,
 * so running them here as well is safe (docs/design.md, rule 2), and a failure is only logged: the
 * stream delivers the same change to them regardless.
 *
 * `schedule` never holds up its caller (ingest's own queue would otherwise wait on every
 * decision); calls for a lease that is already being decided coalesce into one more pass after it.
 */
export class FastPathDecisions {
  private readonly queue: LatestPerKeyQueue;

  constructor(
    private readonly deps: CoordinatorDeps,
    private readonly mirror: MirrorDeps,
  ) {
    // decide() logs its own failures; nothing reaches here.
    this.queue = new LatestPerKeyQueue(CONCURRENCY, () => {});
  }

  /** `change` may still be coming (reads beside a new candidate's write): the decision waits for it. */
  schedule(key: LeaseKey, change?: RecordedRelease | KnownChange | Promise<KnownChange | undefined>): void {
    this.queue.push(partitionKey(key), async () => this.decide(key, await change));
  }

  /** Resolves once every scheduled decision has finished (before a Lambda invocation returns). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private async decide(key: LeaseKey, change: RecordedRelease | KnownChange | undefined): Promise<void> {
    try {
      await decideAndMirror(this.deps, this.mirror, key, change === undefined ? {} : { change });
    } catch (error) {
      this.deps.logger.warn('fast path failed; the stream will decide', {
        lease: key,
        error: error as Error,
      });
    }
  }
}

/**
 * One reconcile step, then the mirror pass at once if the step (or a writer it raced) decided or pinged:
 * the outcome reaches the clusters without waiting for the stream to wake `mirror`. Ingest's fast
 * path and `requeue` (expiry, pre-pings) use it. A decision this step wrote and that pings nobody is
 * mirrored as soon as its write is in, beside the timer (its history record waits for the pass:
 * carryOut). A failed reconcile throws (once that mirror pass has ended); a failed mirror pass is
 * only logged, since the stream still delivers the same change to `mirror`.
 */
export async function decideAndMirror(
  deps: CoordinatorDeps,
  mirror: MirrorDeps,
  key: LeaseKey,
  {
    release,
    change = release,
    ...options
  }: ReconcileOptions & {
    readonly release?: RecordedRelease;
    readonly change?: RecordedRelease | KnownChange;
  } = {},
): Promise<ElectionStep> {
  const known = change === undefined ? undefined : asKnownChange(change);
  // The decision's reads of the holder's and the successor's Leases go through the mirror's
  // clusters, so the mirror can write on top of them without reading again (decision-reads.ts).
  const reads = new DecisionReads(mirror.clusters);
  for (const seen of known?.leases ?? [])
    reads.remember(seen.cluster, { namespace: key.namespace, name: key.name }, seen.lease);
  const deciding =
    deps.readHolderLease === undefined
      ? deps
      : {
          ...deps,
          readHolderLease: holderLeaseReader(reads.recording),
          ...(deps.fenceHolderLease !== undefined && { fenceHolderLease: holderLeaseFence(reads.recording) }),
        };
  const pass = (decided?: LeaseState) =>
    mirrorPass(deps, { ...mirror, clusters: reads.replaying }, key, decided);
  let early: Promise<void> | undefined;
  let outcome: ReconcileOutcome;
  try {
    outcome = await reconcileLeaseWithOutcome(deciding, key, {
      ...options,
      ...(known !== undefined && { known: known.known }),
      // A retry decides on the table as it is then: the Leases seen beside `known` are older than that,
      // and the holder's, read as it was when the caller saw it, would hide a renewal since (and
      // leave nothing to fence, where it showed a release).
      onRetry: () => {
        reads.forget();
        options.onRetry?.();
      },
      // Returned: the step stores its history record once it has ended, and a first decision or a
      // preemption arms its timer then too (carryOut).
      onDecided: (decided) => {
        early = pass(decided);
        return early;
      },
    });
  } finally {
    await early;
  }
  const { step, contended } = outcome;
  // Lost to a concurrent writer (the stream's elect, usually): mirror its decision now as well,
  // rather than leave it to the stream. A ping is mirrored from the table, which shows who was pinged.
  if (early === undefined && (step.write !== null || step.ping.length > 0 || contended)) await pass();
  return step;
}

/** The mirror pass after a decision: `decided` needs no read of the table; a failure is only logged. */
async function mirrorPass(deps: CoordinatorDeps, mirror: MirrorDeps, key: LeaseKey, decided?: LeaseState) {
  try {
    await mirrorLease(mirror, key, decided);
  } catch (error) {
    deps.logger.warn('mirror pass after a decision failed; the stream will retry it', {
      lease: key,
      error: error as Error,
    });
  }
}
