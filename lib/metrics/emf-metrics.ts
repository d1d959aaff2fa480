import { Metrics as Powertools } from '@aws-lambda-powertools/metrics';
import type { Metrics } from '../ports/metrics.js';
import { METRIC_NAMESPACE, METRICS, type MetricDefinition, type MetricName } from '../ports/metrics.js';

/**
 * EMF keeps at most 100 values of one metric per log line, and Powertools publishes on its own
 * when a metric reaches 100, clearing the dimensions of whatever is added after: stay below it.
 */
const MAX_VALUES_PER_LINE = 99;

interface Series {
  readonly name: MetricName;
  /** The metric's dimension and its value, when it has one. */
  readonly dimension: { readonly name: string; readonly value: string } | undefined;
  values: number[];
}

/**
 * The Lambda adapter: CloudWatch embedded metric format through Powertools Metrics, written to
 * stdout with the function's logs, so no metric costs an API call. Values are kept until `flush`,
 * which the handler calls once per invocation: counters are summed first (one value per series
 * per invocation), durations keep each value, gauges their last one.
 *
 * Each metric goes out both with its dimension (per Scope, Cluster, ...) and without it, so that an
 * alarm can watch the total: CloudWatch alarms cannot add series up by themselves.
 */
export class EmfMetrics implements Metrics {
  private readonly series = new Map<string, Series>();
  private readonly powertools: Powertools;

  /** `service` names the stack: the dimension every metric carries, so stages in one account stay apart. */
  constructor(service: string) {
    this.powertools = new Powertools({ namespace: METRIC_NAMESPACE, serviceName: service });
  }

  record(name: MetricName, value: number, dimension?: string): void {
    const definition: MetricDefinition = METRICS[name];
    const id = `${name}\u0000${dimension ?? ''}`;
    const series = this.series.get(id) ?? {
      name,
      dimension:
        definition.dimension === undefined || dimension === undefined
          ? undefined
          : { name: definition.dimension, value: dimension },
      values: [],
    };
    this.series.set(id, series);
    const kind = definition.kind;
    if (kind === 'counter') series.values = [(series.values[0] ?? 0) + value];
    else if (kind === 'gauge') series.values = [value];
    else series.values.push(value);
  }

  /** Writes what was recorded since the last flush: one EMF line per dimension value. Nothing recorded, nothing written. */
  flush(): void {
    const byDimension = new Map<string, Series[]>();
    for (const series of this.series.values()) {
      const id = series.dimension === undefined ? '' : `${series.dimension.name}=${series.dimension.value}`;
      byDimension.set(id, [...(byDimension.get(id) ?? []), series]);
    }
    this.series.clear();
    for (const group of byDimension.values()) {
      for (let offset = 0; group.some((s) => s.values.length > offset); offset += MAX_VALUES_PER_LINE) {
        this.publishLine(group, offset);
      }
    }
  }

  private publishLine(group: readonly Series[], offset: number): void {
    const { dimension } = group[0] as Series;
    if (dimension !== undefined) {
      this.powertools.addDimension(dimension.name, dimension.value);
      // The undimensioned rollup beside it (only `service`).
      this.powertools.addDimensions({});
    }
    for (const series of group) {
      for (const value of series.values.slice(offset, offset + MAX_VALUES_PER_LINE))
        this.powertools.addMetric(series.name, METRICS[series.name].unit, value);
    }
    this.powertools.publishStoredMetrics();
  }
}

/** Runs one invocation's work, then writes its metrics, whether the work succeeded or threw. */
export async function flushAfter<T>(metrics: EmfMetrics, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    metrics.flush();
  }
}
