import { vi } from 'vitest';
import { EmfMetrics } from '../../lib/metrics/emf-metrics.js';

/** One EMF log line as CloudWatch reads it. */
export interface EmfLine {
  readonly _aws: {
    readonly CloudWatchMetrics: {
      readonly Namespace: string;
      readonly Dimensions: string[][];
      readonly Metrics: { Name: string; Unit: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

/**
 * An EmfMetrics whose flushes are read back from stdout, as CloudWatch Logs would read them:
 * `invocation(work)` runs work as one Lambda invocation (one flush) and returns the lines written.
 */
export function capturedEmf(service = 'lease-coordinator-test') {
  const metrics = new EmfMetrics(service);
  const lines: EmfLine[] = [];
  const invocation = async (work: () => Promise<unknown>): Promise<EmfLine[]> => {
    const { lines: emf } = await emfWritten(async () => {
      await work();
      metrics.flush();
    });
    lines.push(...emf);
    return emf;
  };
  return { metrics, lines, invocation };
}

/** Runs `work`, and returns its result with the EMF lines it wrote to stdout meanwhile. */
export async function emfWritten<T>(work: () => Promise<T>): Promise<{ result: T; lines: EmfLine[] }> {
  const written: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  let result: T;
  try {
    result = await work();
  } finally {
    spy.mockRestore();
  }
  const lines = written
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.startsWith('{"_aws"'))
    .map((line) => JSON.parse(line) as EmfLine);
  return { result, lines };
}

/** Every value of one metric in EMF lines, in order, per dimension value ('' for the rollup). */
export function values(lines: readonly EmfLine[], name: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const line of lines) {
    for (const directive of line._aws.CloudWatchMetrics) {
      if (!directive.Metrics.some((m) => m.Name === name)) continue;
      for (const set of directive.Dimensions) {
        const id = set
          .filter((d) => d !== 'service')
          .map((d) => String(line[d]))
          .join(',');
        out[id] = [...(out[id] ?? []), ...([line[name]].flat() as number[])];
      }
    }
  }
  return out;
}

/**
 * The values of one metric in EMF lines, per dimension value ('' for the undimensioned rollup),
 * summed: what CloudWatch's Sum statistic shows for it.
 */
export function sums(lines: readonly EmfLine[], name: string): Record<string, number> {
  return Object.fromEntries(
    Object.entries(values(lines, name)).map(([id, all]) => [id, all.reduce((a, b) => a + b, 0)]),
  );
}
