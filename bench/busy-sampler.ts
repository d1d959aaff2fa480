import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { machineTicks } from './load-proc.js';

/** How often the busy sampler reads: short enough to see a round of trials starting, long enough for /proc/stat's ticks. */
export const BUSY_SAMPLE_MS = 250;

/** One window of a figure: how busy our process's event loop and the whole machine were in it (0..1). */
export interface BusyWindow {
  /** The window's end, in ms since the sampler started. */
  readonly atMs: number;
  /** Event loop utilisation of the bench's main thread: ours runs there in-process, with the bench's watches. */
  readonly loop: number;
  /** Busy share of all the machine's cores (/proc/stat). */
  readonly machine: number;
}

/** A figure's busy windows, as saved with its results. */
export interface BusySeries {
  readonly everyMs: number;
  readonly cores: number;
  readonly windows: readonly BusyWindow[];
}

/** What the report says of a series: the whole figure, and its busiest second by the event loop. */
export interface BusySummary {
  readonly loop: number;
  readonly machine: number;
  /** atMs: where that second starts, in ms since the sampler started. */
  readonly busiest: { readonly loop: number; readonly machine: number; readonly atMs: number };
}

/**
 * Samples the event loop and the machine every `everyMs` until stopped. The figures run ours in the
 * bench's own process, so where ten trials start in one moment both can be near full while the
 * in-tree controller's apiserver has threads of its own (docs/benchmark.md, "The first round").
 */
export function sampleBusy(everyMs = BUSY_SAMPLE_MS): { stop(): BusySeries } {
  const started = performance.now();
  const windows: BusyWindow[] = [];
  let elu = performance.eventLoopUtilization();
  let ticks = machineTicks();
  const timer = setInterval(() => {
    const nextElu = performance.eventLoopUtilization();
    const nextTicks = machineTicks();
    const total = nextTicks.total - ticks.total;
    windows.push({
      atMs: Math.round(performance.now() - started),
      loop: performance.eventLoopUtilization(nextElu, elu).utilization,
      machine: total > 0 ? (nextTicks.busy - ticks.busy) / total : 0,
    });
    elu = nextElu;
    ticks = nextTicks;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { everyMs, cores: cpus().length, windows };
    },
  };
}

/**
 * The figure's mean busy shares, and the second (the run of windows that spans 1,000 ms) in which
 * the event loop was busiest, with the machine's share in that same second. Undefined without a
 * full second of windows.
 */
export function summarizeBusy(series: BusySeries): BusySummary | undefined {
  const { windows, everyMs } = series;
  const span = Math.max(1, Math.round(1000 / everyMs));
  if (windows.length < span) return undefined;
  const mean = (ws: readonly BusyWindow[], of: (w: BusyWindow) => number) =>
    ws.reduce((s, w) => s + of(w), 0) / ws.length;
  let busiest = { loop: -1, machine: 0, atMs: 0 };
  for (let end = span; end <= windows.length; end++) {
    const second = windows.slice(end - span, end);
    const loop = mean(second, (w) => w.loop);
    if (loop > busiest.loop)
      busiest = {
        loop,
        machine: mean(second, (w) => w.machine),
        atMs: (second[0]?.atMs ?? everyMs) - everyMs,
      };
  }
  return {
    loop: mean(windows, (w) => w.loop),
    machine: mean(windows, (w) => w.machine),
    busiest,
  };
}

/** The report's line for a figure's busy series. */
export function busyLine(figure: string, series: BusySeries | undefined): string[] {
  const summary = series === undefined ? undefined : summarizeBusy(series);
  if (series === undefined || summary === undefined) return [];
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const { loop, machine, busiest } = summary;
  return [
    `${figure}, busy while its trials ran (every ${series.everyMs} ms): the bench process’s event loop, where ours runs in-process, ${pct(loop)} of the time, and the machine’s ${series.cores} cores ${pct(machine)}; in the second the loop was busiest (from ${(busiest.atMs / 1000).toFixed(1)} s), ${pct(busiest.loop)} and ${pct(busiest.machine)}. A request on ours’ critical path waits behind every other the process makes while the loop is full.`,
    '',
  ];
}
