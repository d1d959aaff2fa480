import { z } from 'zod';

const samples = z.array(z.number());
/** A figure's trials and their split, each part a list of milliseconds. */
const splitFigure = <K extends string>(parts: readonly [K, ...K[]]) =>
  z.looseObject({
    samples,
    parts: z.looseObject(Object.fromEntries(parts.map((p) => [p, samples])) as Record<K, typeof samples>),
  });

/** A gate-off preemption figure; `registered` is absent in runs before it was taken. */
const gateOffPreemption = splitFigure(['decide', 'yield', 'takeover', 'poll']).extend({
  registered: samples.optional(),
});

/** The warm-up's calls and time (bench/emulator-warmup.ts), in either stack. */
const emulatorWarmup = z.looseObject({ calls: z.number().int().positive(), ms: z.number().nonnegative() });

/** A busy share, 0..1. */
const share = z.number().min(0).max(1);

/** How busy the bench's event loop and the machine were while a figure's trials ran (bench/busy-sampler.ts). */
const busySeries = z.looseObject({
  everyMs: z.number().int().positive(),
  cores: z.number().int().positive(),
  windows: z.array(z.looseObject({ atMs: z.number().nonnegative(), loop: share, machine: share })),
});

/** How a failover or preemption figure ran its trials: so many at a time, the first round spaced or not. */
const trialPlan = z.looseObject({
  concurrency: z.number().int().positive().optional(),
  firstRoundGapMs: z.number().int().nonnegative().optional(),
  // Runs saved before it was sampled have none.
  busy: busySeries.optional(),
});

/** What every saved run has; a file without it was not written by this bench. */
export const SAVED_RUN = z.looseObject({
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date, YYYY-MM-DD'),
  trials: z.number().int().positive(),
  leaseDurationMs: z.number().positive(),
  propagation: z.record(z.string().regex(/^\d+$/), z.array(z.number())).optional(),
  machine: z
    .looseObject({
      cores: z.number().int().positive(),
      loadAtStart: z.array(z.number().nonnegative()).length(3),
      loadAtEnd: z.array(z.number().nonnegative()).length(3),
    })
    .optional(),
  // Absent from runs before the emulator was warmed.
  emulatorWarmup: emulatorWarmup.optional(),
  packaged: z.looseObject({ emulatorWarmup: emulatorWarmup.optional() }).optional(),
  // The report cuts preemption's trials into runs of `concurrency` and prints the first round's gap;
  // runs before either was recorded lack it.
  failover: trialPlan.optional(),
  preemption: trialPlan.optional(),
  preemptionOneAtATime: trialPlan.optional(),
  // Runs before the gate-off figure have none; runs before one-at-a-time preemption lack it and concurrency.
  gateOff: z
    .looseObject({
      failover: splitFigure(['untilExpiry', 'coordinator', 'poll']),
      preemption: gateOffPreemption,
      concurrency: z.number().int().positive().optional(),
      preemptionOneAtATime: gateOffPreemption.optional(),
    })
    .optional(),
});
