import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBRecord, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Millis } from '../../lib/election/types.js';
import { handleStreamBatch } from '../../lib/handlers/elect.js';
import { handleMirrorBatch } from '../../lib/handlers/mirror.js';
import { handleSweep } from '../../lib/handlers/sweep.js';
import { handleTimerBatch } from '../../lib/handlers/timer.js';
import { retryDelaySeconds } from '../../lib/handlers/timer-backoff.js';
import { anyCaller } from '../../lib/http/callers.js';
import { type FilterPattern, matchesAny } from '../../lib/local/event-filter.js';
import type { RawObject } from '../../lib/ports/cluster.js';
import type { HolderClusterUnreachable } from '../../lib/ports/coordinator.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import type { TimerQueue } from '../../lib/ports/schedule.js';
import { clusterSweepPass } from '../../lib/sync/cluster-sweep.js';
import { HolderHints } from '../../lib/sync/holder-hints.js';
import { ingestLease } from '../../lib/sync/ingest.js';
import { ingestCandidate } from '../../lib/sync/ingest-candidate.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { wireCoordinator } from '../../lib/wiring/coordinator.js';
import { InMemoryCluster } from './in-memory-cluster.js';
import { InMemoryTable } from './in-memory-store.js';

/**
 * A world in time for the whole coordinator over an in-memory table and in-memory clusters: the
 * deployed handlers (elect and mirror on the table's stream, requeue on the timers the steps arm,
 * ingest on every cluster write, the minute sweep if asked) run as their events come due, and the
 * processes in the clusters act as client-go's do. Events run in the order of their times; a
 * handler's requests to the table and the clusters take no time, so each invocation runs whole
 * at its instant unless a cluster is slow to answer (`sleep`). Used by the stack liveness property.
 */

const STREAM_FILTERS = JSON.parse(
  readFileSync(new URL('../../infra/stream-filters.json', import.meta.url), 'utf8'),
) as { elect: FilterPattern[]; mirror: FilterPattern[] };

const REFUSED = 'connect ECONNREFUSED';

function refused(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith(REFUSED);
}

/** How many times Lambda retries a stream batch that reported failures (serverless.yml). */
const STREAM_RETRIES = 5;

interface Due {
  readonly at: Millis;
  readonly seq: number;
  readonly run: () => unknown;
}

/** A discrete-event clock: what is due runs in time order, each given the microtasks it needs. */
export class EventClock {
  now: Millis;
  private readonly due: Due[] = [];
  private seq = 0;
  /** Errors thrown by an event (a handler that threw instead of reporting a failure). */
  readonly thrown: unknown[] = [];

  constructor(start: Millis) {
    this.now = start;
  }

  at(at: Millis, run: () => unknown): void {
    this.due.push({ at: Math.max(at, this.now), seq: this.seq++, run });
  }

  sleep(ms: Millis): Promise<void> {
    return new Promise((resolve) => this.at(this.now + ms, resolve));
  }

  /** Runs events until `until`, calling `settled` after each once its microtasks have run. */
  async runUntil(until: Millis, settled: () => void): Promise<void> {
    for (;;) {
      let next = -1;
      for (let i = 0; i < this.due.length; i++) {
        const d = this.due[i] as Due;
        const best = this.due[next];
        if (best === undefined || d.at < best.at || (d.at === best.at && d.seq < best.seq)) next = i;
      }
      const event = this.due[next];
      if (event === undefined || event.at > until) break;
      this.due.splice(next, 1);
      this.now = event.at;
      Promise.resolve()
        .then(event.run)
        .catch((error: unknown) => this.thrown.push(error));
      await settle();
      settled();
      await settle();
    }
    this.now = until;
  }
}

/** Every promise chain started so far runs to its end (nothing here waits on real I/O or timers). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface WorldOptions {
  readonly start: Millis;
  readonly clusters: readonly string[];
  readonly key: LeaseKey;
  readonly gates: Readonly<Record<string, 'on' | 'off'>>;
  readonly offsets: Readonly<Record<string, Millis>>;
  /** How long a cluster write takes to reach ingest's watch. */
  readonly watchLagMs: Millis;
  /** How long a table write takes to reach elect and mirror through the stream. */
  readonly streamLagMs: Millis;
  /** How late a timer is delivered after its due time. */
  readonly timerLagMs: Millis;
  readonly holderClusterUnreachable: HolderClusterUnreachable;
  /** The minute sweep runs, first at this time after the start; undefined: never. */
  readonly sweepPhaseMs: Millis | undefined;
}

/** The coordinator side of the world: the table, the clusters, the handlers wired to their events. */
export class CoordinatorWorld {
  readonly clock: EventClock;
  readonly table: InMemoryTable;
  readonly clusters = new Map<string, InMemoryCluster>();
  /** Clusters the coordinator cannot reach (its requests fail, ingest's watch is broken). */
  readonly out = new Set<string>();
  /** Clusters whose watches are broken: ingest sees none of their writes until it lists them again. */
  readonly ingestOut = new Set<string>();
  /** Clusters whose answers to the coordinator take this long. */
  readonly slow = new Map<string, Millis>();
  readonly wiring: ReturnType<typeof wireCoordinator>;
  private streamSeen = 0;
  private readonly historySeen = new Map<string, number>();
  /** The objects each cluster holds, as its watches have told: a write of one not there is ADDED. */
  private readonly existing = new Set<string>();
  private readonly hints = new Map<string, HolderHints>();
  /** Each cluster's ingest run: events of an ended run are dropped, as its watch is gone. */
  private readonly runs = new Map<string, number>();
  /** Called with each cluster write, as watches deliver them to the processes in that cluster. */
  onClusterWrite: (cluster: string, kind: string, name: string, object: RawObject | undefined) => void =
    () => {};

  constructor(readonly options: WorldOptions) {
    this.clock = new EventClock(options.start);
    const clock = () => this.clock.now;
    this.table = new InMemoryTable(clock);
    for (const name of options.clusters)
      this.clusters.set(
        name,
        new InMemoryCluster(name, options.offsets[name] ?? 0, clock, { gate: options.gates[name] ?? 'on' }),
      );
    const timers: TimerQueue = {
      deliverAt: async (key, dueAt) =>
        this.clock.at(dueAt + options.timerLagMs, () => this.timer(key, dueAt, 1)),
    };
    const reach = async (name: string) => {
      if (this.out.has(name)) throw new Error(`${REFUSED} (cluster ${name})`);
      const lag = this.slow.get(name);
      if (lag !== undefined) await this.clock.sleep(lag);
      if (this.out.has(name)) throw new Error(`${REFUSED} (cluster ${name})`);
    };
    this.wiring = wireCoordinator({
      store: this.table.store(),
      timers,
      clock,
      // LIVENESS_LOG_LEVEL=DEBUG shows what the coordinator did in a replayed run (LIVENESS_SEED).
      logger: new Logger({
        serviceName: 'liveness',
        logLevel: (process.env.LIVENESS_LOG_LEVEL as 'DEBUG' | undefined) ?? 'SILENT',
      }),
      policies: {
        leases: () => options.key,
        callers: anyCaller,
        preemption: () => 'Auto',
        holderClusterUnreachable: () => options.holderClusterUnreachable,
      },
      clients: {
        get: async (name) => {
          await reach(name);
          return this.cluster(name).port(() => reach(name));
        },
        names: () => [...options.clusters],
        httpOnly: () => false,
      },
    });
    if (options.sweepPhaseMs !== undefined)
      this.clock.at(options.start + options.sweepPhaseMs, () => this.sweep());
  }

  cluster(name: string): InMemoryCluster {
    const cluster = this.clusters.get(name);
    if (cluster === undefined) throw new Error(`no cluster ${name}`);
    return cluster;
  }

  private get mirrorDeps() {
    const mirror = this.wiring.clusterWiring;
    if (mirror === undefined) throw new Error('the world registers clusters');
    return mirror;
  }

  /** After each event: new cluster writes go to ingest (and the processes), new table records to the streams. */
  readonly settled = (): void => {
    for (const [name, cluster] of this.clusters) {
      const from = this.historySeen.get(name) ?? 0;
      this.historySeen.set(name, cluster.history.length);
      for (const write of cluster.history.slice(from)) {
        this.onClusterWrite(name, write.kind, write.name, write.object);
        const id = `${name}/${write.kind}/${write.namespace}/${write.name}`;
        const object = write.object;
        if (object === undefined) {
          this.existing.delete(id);
          continue;
        }
        const phase = this.existing.has(id) ? 'MODIFIED' : 'ADDED';
        this.existing.add(id);
        const run = this.runs.get(name) ?? 0;
        this.clock.at(this.clock.now + this.options.watchLagMs, () =>
          this.ingest(run, name, write.kind, object, phase, true),
        );
      }
    }
    const records = this.table.stream.slice(this.streamSeen);
    this.streamSeen = this.table.stream.length;
    if (records.length === 0) return;
    this.stream('elect', records, 1);
    this.stream('mirror', records, 1);
  };

  /**
   * One watch event or listed object, as ingest's run handles it. A request of the run that the
   * cluster refuses (it went out meanwhile) ends the run, and the next one lists the cluster again.
   */
  private async ingest(
    run: number,
    cluster: string,
    kind: string,
    raw: RawObject,
    phase: 'ADDED' | 'MODIFIED',
    watched: boolean,
  ): Promise<void> {
    if (this.out.has(cluster) || this.ingestOut.has(cluster) || this.runs.get(cluster) !== run) return;
    try {
      await this.ingestOne(cluster, kind, raw, phase, watched);
    } catch (error) {
      if (!refused(error)) throw error;
      // Out now: it is listed again when it answers (relist). Otherwise the next run starts at once.
      if (!this.out.has(cluster) && this.runs.get(cluster) === run) this.relist(cluster);
    }
  }

  private ingestOne(
    cluster: string,
    kind: string,
    raw: RawObject,
    phase: 'ADDED' | 'MODIFIED',
    watched: boolean,
  ) {
    const deps = this.mirrorDeps;
    if (kind === 'LeaseCandidate') return ingestCandidate(deps, cluster, phase, raw, watched);
    const hints = this.hints.get(cluster) ?? this.hints.set(cluster, new HolderHints()).get(cluster);
    return ingestLease(deps, cluster, raw, { ...(hints !== undefined && { hints }) }).then(
      async (ingested) => {
        // As ingest's runner does: a mirror copy that differs from the decision is repaired.
        if ((ingested.outcome === 'drift' || ingested.repair === true) && ingested.key !== undefined)
          await mirrorLease(deps, ingested.key);
      },
    );
  }

  /** Ingest's first run: it lists every cluster as the start left it. */
  startIngest(): void {
    for (const [name, cluster] of this.clusters) {
      this.historySeen.set(name, cluster.history.length);
      for (const kind of ['Lease', 'LeaseCandidate'] as const)
        for (const raw of cluster.list(kind).items)
          this.existing.add(`${name}/${kind}/${raw.metadata?.namespace}/${raw.metadata?.name}`);
      this.relist(name);
    }
  }

  /** A cluster the coordinator could not reach answers again: ingest lists it afresh (a new run). */
  relist(name: string): void {
    this.hints.delete(name);
    const run = (this.runs.get(name) ?? 0) + 1;
    this.runs.set(name, run);
    const cluster = this.cluster(name);
    for (const kind of ['Lease', 'LeaseCandidate'] as const)
      for (const raw of cluster.list(kind).items)
        this.clock.at(this.clock.now + this.options.watchLagMs, () =>
          this.ingest(run, name, kind, raw, 'ADDED', false),
        );
  }

  private stream(consumer: 'elect' | 'mirror', all: readonly DynamoDBRecord[], attempt: number): void {
    const records = all.filter((record) => matchesAny(STREAM_FILTERS[consumer], record));
    if (records.length === 0) return;
    this.clock.at(this.clock.now + this.options.streamLagMs, async () => {
      const event = { Records: [...records] };
      const response =
        consumer === 'elect'
          ? await handleStreamBatch(this.wiring, event)
          : await handleMirrorBatch(this.mirrorDeps, event);
      if (response.batchItemFailures.length > 0 && attempt < STREAM_RETRIES)
        this.clock.at(this.clock.now + 1_000, () => this.stream(consumer, records, attempt + 1));
    });
  }

  private async timer(key: LeaseKey, dueAt: Millis, receiveCount: number): Promise<void> {
    const record = {
      messageId: `timer-${dueAt}-${receiveCount}`,
      receiptHandle: `timer-${dueAt}-${receiveCount}`,
      body: JSON.stringify({ lease: key, dueAt }),
      attributes: { ApproximateReceiveCount: String(receiveCount) },
    } as unknown as SQSRecord;
    const response = await handleTimerBatch(this.wiring, { Records: [record] } as SQSEvent, this.mirrorDeps);
    // SQS brings a failed message back after its back-off (timer-backoff.ts).
    if (response.batchItemFailures.length > 0)
      this.clock.at(this.clock.now + retryDelaySeconds(receiveCount) * 1_000, () =>
        this.timer(key, dueAt, receiveCount + 1),
      );
  }

  private async sweep(): Promise<void> {
    this.clock.at(this.clock.now + 60_000, () => this.sweep());
    const mirror = this.mirrorDeps;
    await handleSweep(this.wiring, undefined, clusterSweepPass(mirror, mirror.clock));
  }
}
