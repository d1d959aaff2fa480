import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Metrics } from '../ports/metrics.js';
import { METRIC_NAMES, METRICS, type MetricDefinition, type MetricName } from '../ports/metrics.js';

/** Failovers take seconds (lease duration + 2 s is the goal); ingest lag milliseconds to seconds. */
const DURATION_BUCKETS_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 30, 60];

type Instrument = Counter | Gauge | Histogram;

/** `FailoverDuration` → `lease_coordinator_failover_duration_seconds`, after Prometheus' naming habits. */
export function prometheusName(name: MetricName): string {
  const definition: MetricDefinition = METRICS[name];
  const snake = name.replace(/(?<=[a-z])(?=[A-Z])/g, '_').toLowerCase();
  const suffix =
    definition.kind === 'counter'
      ? '_total'
      : definition.unit === 'Milliseconds' || definition.unit === 'Seconds'
        ? '_seconds'
        : '';
  return `lease_coordinator_${snake}${suffix}`;
}

/**
 * The `npm start` adapter: the same metrics in a prom-client registry, served on `GET /metrics` of
 * the local HTTP port in Prometheus' text format. Durations are histograms in seconds, as
 * Prometheus has them; the dimension is a lower-case label (scope, cluster, reason, operation).
 */
export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  private readonly instruments = new Map<MetricName, Instrument>();

  constructor() {
    for (const name of METRIC_NAMES) this.instruments.set(name, this.instrument(name));
  }

  record(name: MetricName, value: number, dimension?: string): void {
    const definition: MetricDefinition = METRICS[name];
    const labels =
      definition.dimension === undefined || dimension === undefined
        ? {}
        : { [definition.dimension.toLowerCase()]: dimension };
    const instrument = this.instruments.get(name);
    if (instrument instanceof Counter) instrument.inc(labels, value);
    else if (instrument instanceof Histogram)
      instrument.observe(labels, definition.unit === 'Milliseconds' ? value / 1000 : value);
    else instrument?.set(labels, value);
  }

  /** The text exposition and its content type, for the HTTP route. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private instrument(name: MetricName): Instrument {
    const definition: MetricDefinition = METRICS[name];
    const options = {
      name: prometheusName(name),
      help: definition.help,
      labelNames: definition.dimension === undefined ? [] : [definition.dimension.toLowerCase()],
      registers: [this.registry],
    };
    if (definition.kind === 'counter') return new Counter(options);
    if (definition.kind === 'gauge') return new Gauge(options);
    return new Histogram({ ...options, buckets: DURATION_BUCKETS_SECONDS });
  }
}
