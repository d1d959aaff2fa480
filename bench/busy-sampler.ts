import { cpus } from 'node:os';
import { type EventLoopUtilization, performance } from 'node:perf_hooks';
import { machineTicks } from './load-proc.js';

/** How often the busy sampler reads: short enough to see a round of trials starting, long enough for /proc/stat's ticks. */
export const BUSY_SAMPLE_MS = 250;

/** A full loop from this share on is called full in the report. */
const FULL = 0.9;

/** One window of a figure: how busy our process's event loop and the whole machine were in it (0..1). */
export interface BusyWindow {
  /** The window's end, in ms since the sampler started; it began where the window before it ended (the first at 0). */
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

/** What the sampler reads each time: the clock, the loop's utilisation so far, the machine's ticks so far. */
export interface BusyReading {
  readonly at: number;
  readonly elu: EventLoopUtilization;
  readonly ticks: { readonly busy: number; readonly total: number };
}

function readNow(): BusyReading {
  return { at: performance.now(), elu: performance.eventLoopUtilization(), ticks: machineTicks() };
}

/** A share of 0..1 from a ratio that a counter stepping back or an empty window could put outside it. */
function share(value: number): number | undefined {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : undefined;
}

/**
 * Samples the event loop and the machine every `everyMs` until stopped. The figures run ours in the
 * bench's own process, so where ten trials start in one moment both can be near full while the
 * in-tree controller's apiserver has threads of its own (docs/benchmark.md, "Reading the report").
 * A window the loop was too busy to close on time is longer than `everyMs`; it keeps its real end.
 * A reading that fails (no /proc) ends the series there, and the figure goes on.
 */
export function sampleBusy(
  everyMs = BUSY_SAMPLE_MS,
  read: () => BusyReading = readNow,
): { stop(): BusySeries } {
  const windows: BusyWindow[] = [];
  let last: BusyReading | undefined = read();
  const started = last.at;
  const timer = setInterval(() => {
    if (last === undefined) return;
    let next: BusyReading;
    try {
      next = read();
    } catch {
      last = undefined;
      return;
    }
    const loop = share(performance.eventLoopUtilization(next.elu, last.elu).utilization);
    const machine = share((next.ticks.busy - last.ticks.busy) / (next.ticks.total - last.ticks.total));
    if (loop !== undefined && machine !== undefined)
      windows.push({ atMs: Math.round(next.at - started), loop, machine });
    last = next;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { everyMs, cores: cpus().length, windows };
    },
  };
}

/** Each window with its start and length: it began where the one before it ended. */
function spans(windows: readonly BusyWindow[]) {
  return windows.map((w, i) => {
    const startMs = i === 0 ? 0 : (windows[i - 1]?.atMs ?? 0);
    return { ...w, startMs, lengthMs: Math.max(0, w.atMs - startMs) };
  });
}

/** The loop's and the machine's shares over some windows, each window counted for its length. */
function weighted(ws: readonly { loop: number; machine: number; lengthMs: number }[]) {
  const total = ws.reduce((s, w) => s + w.lengthMs, 0);
  if (total <= 0) return undefined;
  return {
    loop: ws.reduce((s, w) => s + w.loop * w.lengthMs, 0) / total,
    machine: ws.reduce((s, w) => s + w.machine * w.lengthMs, 0) / total,
  };
}

/**
 * The figure's busy shares, and the second in which the event loop was busiest (the windows from
 * one window's start until they span 1,000 ms), with the machine's share in that same second; each
 * window counts for its length. Undefined with less than a second of windows.
 */
export function summarizeBusy(series: BusySeries): BusySummary | undefined {
  const all = spans(series.windows);
  const whole = weighted(all);
  if (whole === undefined || (all.at(-1)?.atMs ?? 0) < 1000) return undefined;
  let busiest = { loop: -1, machine: 0, atMs: 0 };
  for (let first = 0; first < all.length; first++) {
    const startMs = all[first]?.startMs ?? 0;
    const last = all.findIndex((w, i) => i >= first && w.atMs - startMs >= 1000);
    if (last < 0) break;
    const second = weighted(all.slice(first, last + 1));
    if (second !== undefined && second.loop > busiest.loop) busiest = { ...second, atMs: startMs };
  }
  return { ...whole, busiest };
}

/** The report's line for a figure's busy series. */
export function busyLine(figure: string, series: BusySeries | undefined): string[] {
  const summary = series === undefined ? undefined : summarizeBusy(series);
  if (series === undefined || summary === undefined) return [];
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const { loop, machine, busiest } = summary;
  const full =
    busiest.loop >= FULL
      ? ' A request on ours’ critical path waits behind every other the process makes while its loop is full.'
      : '';
  return [
    `${figure}, busy while its trials ran (sampled every ${series.everyMs} ms): the bench process’s event loop, where ours runs in-process, ${pct(loop)} of the time, and the machine’s ${series.cores} cores ${pct(machine)}; in the second the loop was busiest (from ${(busiest.atMs / 1000).toFixed(1)} s), ${pct(busiest.loop)} and ${pct(busiest.machine)}.${full}`,
    '',
  ];
}
