import { parseLease } from '../api/lease.js';
import { holderDeadlines } from '../coordinator/holder-deadlines.js';
import { recordQuietHolderRenewal } from '../coordinator/quiet-holder.js';
import { PRE_PING_LEAD_MS, renewalRecordBoundMs } from '../election/timing.js';
import type { ElectionStep, Millis } from '../election/types.js';
import type { RawObject } from '../ports/cluster.js';
import type { CoordinatorDeps, MirrorDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { TimerCover } from '../ports/schedule.js';
import type { LeaseState } from '../ports/store.js';
import { partitionKey } from '../store/keys.js';
import { LONGEST_TIMER_MS } from './abortable.js';
import { decideAndMirror } from './decide-now.js';
import type { LeaseOutcome } from './ingest.js';
import { LatestPerKeyQueue } from './latest-per-key-queue.js';

/** How far ahead a run's cover reaches, and how often it is extended: a lapse is noticed this soon. */
export const COVER_TTL_MS: Millis = 15_000;
export const COVER_REFRESH_MS: Millis = 5_000;
/** A step that decides nothing: what holderDeadlines splits for a lease as a scan read it. */
const QUIET: ElectionStep = { action: 'none', ping: [], write: null, requeueAfterMs: 0, error: null };
/** A step from memory that failed is taken again this soon (the table or a cluster was out). */
const RETRY_MS: Millis = 2_000;
/** Steps from memory in flight at once. */
const CONCURRENCY = 8;

interface Kept {
  readonly holder: string;
  readonly dueAt: Millis;
  readonly timer: NodeJS.Timeout;
}

/** What a Lease event told ingest (lib/sync/ingest.ts's outcomes). */
export type LeaseNews = 'renewed' | 'seen';

/**
 * Ingest's memory of held leases' own deadlines, and its cover (docs/design.md, "Timers kept by
 * ingest"). Ingest sees every renewal in the clusters it watches, so it keeps each held lease's
 * next look in memory and takes that step itself when it comes due (`step`: the same reconcile
 * and mirror pass as `requeue`), instead of an SQS timer per recorded deadline. Meanwhile it tells
 * the other deciders, through the table's cover item, which clusters it keeps until when: there a
 * step whose only deadline is its live holder's arms no timer (lease-timer.ts). The cover promises
 * liveness only; every step taken from memory is the same conditional reconcile as a timer's.
 *
 * What it keeps, per lease: the last holder deadline set, by a renewal seen (a bound before its
 * pre-ping, holderDeadline) or by a step that left its holder deadline to the cover (the record's
 * pre-ping), or the next look of its own step on a late holder, which also has its timer
 * (lease-timer.ts, keepLateLook). A lease seen for the first time in a run is
 * looked at at once, so a holder that stopped renewing before the run started is kept from its record.
 */
export class IngestDeadlines implements TimerCover {
  private readonly kept = new Map<string, Kept>();
  private readonly synced = new Set<string>();
  private readonly seen = new Set<string>();
  private readonly queue: LatestPerKeyQueue;
  private readonly following = new Set<Promise<unknown>>();
  private coveredUntil: Millis = 0;
  /** The run's start scan: a lease first seen without a renewal is looked at once it has seeded this memory. */
  private scanned: Promise<unknown> = Promise.resolve();
  private refresher: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly deps: Pick<CoordinatorDeps, 'clock' | 'logger'>,
    private readonly table: TimerCover,
    private readonly step: (key: LeaseKey) => Promise<unknown>,
    /** When this run stops: its cover reaches no further. Unset, it reaches COVER_TTL_MS ahead. */
    private readonly stopsAt: Millis = Number.POSITIVE_INFINITY,
    /**
     * Taken after each step that succeeded, off the queue (recordQuietHolderRenewal): its read of a
     * cluster that does not answer holds up no other lease's step. stop() waits for it too.
     */
    private readonly afterStep?: (key: LeaseKey) => Promise<unknown>,
  ) {
    this.queue = new LatestPerKeyQueue(CONCURRENCY, () => {});
  }

  /** Starts extending the cover every COVER_REFRESH_MS (for the clusters synced by then). */
  start(): void {
    this.refresher = setInterval(() => void this.refresh(), COVER_REFRESH_MS);
  }

  /** A cluster's list is stored (true) or its watch ended (false): only a synced cluster is covered. */
  clusterSynced(cluster: string, synced: boolean): void {
    if (!synced) {
      this.synced.delete(cluster);
      return;
    }
    const fresh = !this.synced.has(cluster);
    this.synced.add(cluster);
    if (fresh) void this.refresh();
  }

  /** A coordinated Lease event stored: a renewal (or a new holder) in the holder's own cluster, or any other. */
  leaseEvent(key: LeaseKey, raw: RawObject, news: LeaseNews): void {
    if (this.stopped) return;
    const pk = partitionKey(key);
    if (news === 'renewed') {
      const { holderIdentity, leaseDurationSeconds } = parseLease(raw).record;
      if (holderIdentity && leaseDurationSeconds)
        this.set(key, holderIdentity, holderDeadline(this.deps.clock(), leaseDurationSeconds));
    }
    if (this.seen.has(pk)) return;
    this.seen.add(pk);
    void this.scanned.then(() => {
      if (!this.kept.has(pk)) this.fire(key);
    });
  }

  /** The run's start scan, which calls fromRecord for each lease it reads. */
  scanning(scan: Promise<unknown>): void {
    this.scanned = scan.catch(() => undefined);
  }

  /**
   * A lease as the run's start scan read it: a live holder's own deadline is kept from its record
   * (no later than the truth), so the run need not look at it at once when its list shows it.
   */
  readonly fromRecord = (key: LeaseKey, state: LeaseState): void => {
    const now = this.deps.clock();
    const split = holderDeadlines(state, QUIET, now);
    if (split !== undefined && !this.kept.has(partitionKey(key)))
      this.keep(key, split.holder, split.holderDue);
  };

  async coveredClusters(now: Millis): Promise<ReadonlySet<string>> {
    return this.coveredUntil > now && !this.stopped ? new Set(this.synced) : new Set();
  }

  extend(clusters: readonly string[], until: Millis): Promise<void> {
    return this.table.extend(clusters, until);
  }

  keep(key: LeaseKey, holder: string, dueAt: Millis): void {
    if (!this.stopped) this.set(key, holder, dueAt);
  }

  /** The holder deadline kept for a lease, if any (tests, the live view). */
  dueAt(key: LeaseKey): Millis | undefined {
    return this.kept.get(partitionKey(key))?.dueAt;
  }

  /** Stops keeping: no step starts from memory after this; resolves once those running have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.refresher !== undefined) clearInterval(this.refresher);
    for (const { timer } of this.kept.values()) clearTimeout(timer);
    this.kept.clear();
    this.queue.dropPending();
    await this.queue.idle();
    await Promise.all(this.following);
  }

  private set(key: LeaseKey, holder: string, dueAt: Millis): void {
    const pk = partitionKey(key);
    const before = this.kept.get(pk);
    if (before !== undefined) clearTimeout(before.timer);
    const wait = Math.max(0, dueAt - this.deps.clock());
    // A deadline further off than a timer can wait (a renewal of a Lease whose leaseDurationSeconds
    // is over 37 days) is waited for in steps: set for longer, the timer would fire at once.
    const timer = setTimeout(
      () => {
        if (wait > LONGEST_TIMER_MS) {
          if (this.kept.get(pk)?.timer === timer) this.set(key, holder, dueAt);
          return;
        }
        if (this.kept.get(pk)?.timer === timer) this.kept.delete(pk);
        this.fire(key);
      },
      Math.min(wait, LONGEST_TIMER_MS),
    );
    // A kept deadline must not hold a stopping process open.
    timer.unref();
    this.kept.set(pk, { holder, dueAt, timer });
  }

  private fire(key: LeaseKey): void {
    if (this.stopped) return;
    this.queue.push(partitionKey(key), async () => {
      if (this.stopped) return;
      try {
        await this.step(key);
        this.follow(key);
      } catch (error) {
        this.deps.logger.warn('a kept deadline’s step failed; taking it again shortly', {
          lease: key,
          error: error as Error,
        });
        const holder = this.kept.get(partitionKey(key))?.holder ?? '';
        if (!this.kept.has(partitionKey(key))) this.set(key, holder, this.deps.clock() + RETRY_MS);
      }
    });
  }

  private follow(key: LeaseKey): void {
    if (this.afterStep === undefined || this.stopped) return;
    const running: Promise<unknown> = this.afterStep(key)
      .catch(() => undefined)
      .finally(() => this.following.delete(running));
    this.following.add(running);
  }

  /** Extends the cover for the synced clusters; one that cannot be written lets it lapse. */
  private async refresh(): Promise<void> {
    if (this.stopped || this.synced.size === 0) return;
    const now = this.deps.clock();
    const until = Math.min(now + COVER_TTL_MS, this.stopsAt);
    if (until <= now) return;
    try {
      await this.table.extend([...this.synced], until);
      this.coveredUntil = Math.max(this.coveredUntil, until);
    } catch (error) {
      this.deps.logger.warn('cannot extend the timer cover; it lapses, and timers take over', {
        error: error as Error,
      });
    }
  }
}

/**
 * A renewal seen now: when to look at the lease if no other renewal comes. The record lags the
 * renewal by up to ingest's bound (renewalRecordBoundMs), and the other candidates are pinged at
 * the record's pre-ping, as a timer at the recorded deadline pings them: so the look comes a bound
 * before this renewal's pre-ping, and a step that finds the record's pre-ping still ahead hands it
 * back (keep). Looked at any later, a lagging record would leave the candidates less time to answer
 * than with timers (measured: the coordinator's share of a failover, p99 about 0.7 s longer).
 */
function holderDeadline(now: Millis, leaseDurationSeconds: number): Millis {
  const leaseEnd = now + leaseDurationSeconds * 1000;
  const prePing = leaseEnd - PRE_PING_LEAD_MS;
  const look = prePing - renewalRecordBoundMs(leaseDurationSeconds);
  if (look > now) return look;
  return prePing > now ? prePing : leaseEnd + 1;
}

/** A Lease event's outcome as ingest's memory reads it: a renewal of the recorded holder, or only a sighting. */
export function leaseNews(outcome: LeaseOutcome): LeaseNews {
  return outcome === 'renewal' || outcome === 'kept' || outcome === 'observed' ? 'renewed' : 'seen';
}

/**
 * Ingest's kept deadlines for one run, when the coordinator has a timer cover: the steps they take
 * are `requeue`'s (decideAndMirror), with `deciding` (whose cover is this memory) as their deps.
 */
export function keptDeadlines(
  deps: CoordinatorDeps,
  mirror: MirrorDeps,
  stopsAt?: Millis,
): { readonly deadlines: IngestDeadlines; readonly deciding: CoordinatorDeps } | undefined {
  const table = deps.timerCover;
  if (table === undefined) return undefined;
  let deciding: CoordinatorDeps = deps;
  const deadlines = new IngestDeadlines(
    deps,
    table,
    (key) => decideAndMirror(deciding, mirror, key),
    stopsAt,
    (key) => recordQuietHolderRenewal(deciding, key),
  );
  deciding = { ...deps, timerCover: deadlines };
  deadlines.start();
  return { deadlines, deciding };
}
