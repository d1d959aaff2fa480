import { performance } from 'node:perf_hooks';
import type { DynamoDBRecord } from 'aws-lambda';
import type { StreamRunner } from '../lib/local/stream-runner.js';
import { machineTicks, procStat, rssBytes, TICKS_PER_SECOND } from './load-proc.js';

/** Counts what the elect stream consumer read: heartbeat writes apart from the coordinator's own. */
export class StreamObserver {
  heartbeatRecords = 0;
  readonly byChange = new Map<string, number>();

  readonly observe = (record: DynamoDBRecord): void => {
    const image = record.dynamodb?.NewImage;
    const kind = image?.kind?.S ?? '?';
    const change = image?.change?.S ?? '?';
    const label = `${record.eventName} ${kind}/${change}`;
    this.byChange.set(label, (this.byChange.get(label) ?? 0) + 1);
    if (kind === 'candidate' && (change === 'renew' || change === 'spec')) this.heartbeatRecords++;
  };
}

/** The runner's per-shard progress; private in StreamRunner, read here only to catch a stalled iterator. */
interface ShardView {
  readonly checkpoint?: string;
  readonly finished: boolean;
  readonly parentShardId?: string;
}

export function shardsOf(runner: StreamRunner): ReadonlyMap<string, ShardView> {
  return (runner as unknown as { shards: Map<string, ShardView> }).shards;
}

export interface Sample {
  /** Seconds since the load started. */
  readonly t: number;
  readonly nodeRss: number;
  readonly nodeHeap: number;
  readonly jvmRss: number;
  /** CPU over the interval since the previous sample, in % of one core. */
  readonly cpu: { node: number; nodeMain: number; jvm: number; others: number; machine: number };
  /** CPU seconds used since the monitor started: the whole Node process and the JVM. */
  readonly cpuSeconds: { node: number; nodeMain: number; jvm: number; machine: number };
  /** Event loop utilisation of the main thread since the monitor started (0..1). */
  readonly eluSinceStart: number;
  /** Event loop utilisation of the main thread over the interval (0..1). */
  readonly elu: number;
  readonly acked: number;
  readonly backlog: number;
  readonly shards: number;
  readonly openShards: number;
  /** Longest time a readable, unfinished shard's checkpoint stood still while records were waiting. */
  readonly stalledSeconds: number;
}

interface CpuReading {
  readonly wall: number;
  /** Clock ticks used so far: the whole Node process, its main thread, the JVM. */
  readonly node: number;
  readonly nodeMain: number;
  readonly jvm: number;
  readonly machine: { busy: number; total: number };
}

/** Samples memory, CPU and stream progress every few seconds. */
export class Monitor {
  readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private last: CpuReading | undefined;
  private origin0: CpuReading | undefined;
  private eluOrigin = performance.eventLoopUtilization();
  private lastElu = performance.eventLoopUtilization();
  private readonly shardMoved = new Map<string, { checkpoint: string | undefined; at: number }>();

  constructor(
    private readonly jvmPid: number,
    private readonly runner: StreamRunner,
    private readonly observer: StreamObserver,
    private readonly acked: () => number,
    private readonly origin: () => number,
  ) {}

  start(everyMs: number): void {
    this.last = this.readCpu();
    this.origin0 = this.last;
    this.eluOrigin = performance.eventLoopUtilization();
    this.lastElu = performance.eventLoopUtilization();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  sample(): Sample {
    const now = performance.now();
    const cpu = this.readCpu();
    const last = this.last ?? cpu;
    const dt = (cpu.wall - last.wall) / 1000;
    const pct = (ticks: number) => (dt > 0 ? (100 * ticks) / TICKS_PER_SECOND / dt : 0);
    const node = pct(cpu.node - last.node);
    const nodeMain = pct(cpu.nodeMain - last.nodeMain);
    const jvm = pct(cpu.jvm - last.jvm);
    const machine = pct(cpu.machine.busy - last.machine.busy);
    const elu = performance.eventLoopUtilization(this.lastElu);
    this.lastElu = performance.eventLoopUtilization();
    this.last = cpu;
    const acked = this.acked();
    const backlog = acked - this.observer.heartbeatRecords;
    const memory = process.memoryUsage();
    const sample: Sample = {
      t: (now - this.origin()) / 1000,
      nodeRss: memory.rss,
      nodeHeap: memory.heapUsed,
      jvmRss: rssBytes(this.jvmPid),
      cpu: {
        node,
        nodeMain,
        jvm,
        others: Math.max(0, machine - node - jvm),
        machine,
      },
      cpuSeconds: {
        node: (cpu.node - (this.origin0 ?? cpu).node) / TICKS_PER_SECOND,
        nodeMain: (cpu.nodeMain - (this.origin0 ?? cpu).nodeMain) / TICKS_PER_SECOND,
        jvm: (cpu.jvm - (this.origin0 ?? cpu).jvm) / TICKS_PER_SECOND,
        machine: (cpu.machine.busy - (this.origin0 ?? cpu).machine.busy) / TICKS_PER_SECOND,
      },
      eluSinceStart: performance.eventLoopUtilization(this.eluOrigin).utilization,
      elu: elu.utilization,
      acked,
      backlog,
      ...this.shardProgress(now, backlog),
    };
    this.samples.push(sample);
    return sample;
  }

  private shardProgress(now: number, backlog: number) {
    const shards = shardsOf(this.runner);
    let open = 0;
    let stalled = 0;
    for (const [id, shard] of shards) {
      if (shard.finished) continue;
      open++;
      const parent = shard.parentShardId === undefined ? undefined : shards.get(shard.parentShardId);
      const readable = parent === undefined || parent.finished;
      const seen = this.shardMoved.get(id);
      if (seen === undefined || seen.checkpoint !== shard.checkpoint || backlog <= 0 || !readable) {
        this.shardMoved.set(id, { checkpoint: shard.checkpoint, at: now });
      } else {
        stalled = Math.max(stalled, (now - seen.at) / 1000);
      }
    }
    return { shards: shards.size, openShards: open, stalledSeconds: stalled };
  }

  private readCpu(): CpuReading {
    return {
      wall: performance.now(),
      node: procStat(process.pid)?.cpuTicks ?? 0,
      nodeMain: procStat(process.pid, process.pid)?.cpuTicks ?? 0,
      jvm: procStat(this.jvmPid)?.cpuTicks ?? 0,
      machine: machineTicks(),
    };
  }
}
