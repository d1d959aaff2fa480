import type { KubeBench } from '../kube-env.js';
import { row } from '../markdown.js';

/**
 * Who acted on the lease records during a figure's trials: `elect` invocations (the stream's
 * deciders), and per function the conditional writes of a lease's record and those that lost
 * their compare-and-set. Two deciders acting on one change show as elect writing beside ingest's
 * fast path, and one of them losing (docs/benchmark.md, "Deciders per change").
 */
export interface DeciderCounts {
  readonly trials: number;
  readonly electInvocations: number;
  readonly electRecords: number;
  readonly leaseWrites: Readonly<Record<string, number>>;
  readonly leaseWritesLost: Readonly<Record<string, number>>;
}

interface Snapshot {
  readonly batches: number;
  readonly records: number;
  readonly byFunction: Readonly<Record<string, { leaseWrites?: number; leaseWritesLost?: number }>>;
}

export function deciderSnapshot(bench: KubeBench): Snapshot {
  const { batches, records } = bench.coordinator.streams.invocations;
  return { batches, records, byFunction: bench.meter.snapshot().byFunction };
}

export function decidersBetween(before: Snapshot, after: Snapshot, trials: number): DeciderCounts {
  const per = (field: 'leaseWrites' | 'leaseWritesLost') =>
    Object.fromEntries(
      Object.entries(after.byFunction)
        .map(([fn, a]) => [fn, (a[field] ?? 0) - (before.byFunction[fn]?.[field] ?? 0)] as const)
        .filter(([, n]) => n > 0),
    );
  return {
    trials,
    electInvocations: after.batches - before.batches,
    electRecords: after.records - before.records,
    leaseWrites: per('leaseWrites'),
    leaseWritesLost: per('leaseWritesLost'),
  };
}

/** The report's table: one row per figure that counted its deciders. */
export function deciderLines(deciders: Readonly<Record<string, DeciderCounts>> | undefined): string[] {
  if (deciders === undefined || Object.keys(deciders).length === 0) return [];
  const byFn = (counts: Readonly<Record<string, number>>) =>
    Object.entries(counts)
      .map(([fn, n]) => `${fn} ${n}`)
      .join(', ') || '0';
  return [
    '## Deciders per change (our side only)',
    '',
    row([
      'figure',
      'trials',
      'elect invocations (records)',
      'lease-record writes by function',
      'lost compare-and-sets by function',
    ]),
    row(['---', '---', '---', '---', '---']),
    ...Object.entries(deciders).map(([figure, d]) =>
      row([
        figure,
        d.trials,
        `${d.electInvocations} (${d.electRecords})`,
        byFn(d.leaseWrites),
        byFn(d.leaseWritesLost),
      ]),
    ),
    '',
  ];
}
