import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { prometheusName } from '../../lib/metrics/prometheus-metrics.js';
import { METRIC_NAMES, METRIC_NAMESPACE } from '../../lib/ports/metrics.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** The metric names a table's first column lists, in docs/operating.md's "Metrics" section. */
function documented(markdown: string): string[] {
  const section = markdown.slice(
    markdown.indexOf('## Metrics'),
    markdown.indexOf('\n## ', markdown.indexOf('## Metrics') + 1),
  );
  return [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1] as string);
}

/** Every name of our namespace infra/monitoring.yml refers to: alarms' MetricName, dashboard rows, SEARCH. */
function referenced(yaml: string): string[] {
  const names: string[] = [];
  for (const m of yaml.matchAll(/Namespace: (\S+)\s+MetricName: (\w+)/g))
    if (m[1] === METRIC_NAMESPACE) names.push(m[2] as string);
  for (const m of yaml.matchAll(new RegExp(`\\["${METRIC_NAMESPACE}", "(\\w+)"`, 'g')))
    names.push(m[1] as string);
  for (const m of yaml.matchAll(/MetricName=\\"(\w+)\\"/g)) names.push(m[1] as string);
  return names;
}

describe('metric names: one list, which the docs, alarms and dashboard agree with (unit)', () => {
  it('docs/operating.md documents every metric of the list, and no other', () => {
    expect(documented(read('docs/operating.md')).sort()).toEqual([...METRIC_NAMES].sort());
  });

  it('infra/monitoring.yml refers only to metrics of the list, and the dashboard to every one', () => {
    const names = referenced(read('infra/monitoring.yml'));
    expect(names.filter((name) => !(METRIC_NAMES as string[]).includes(name))).toEqual([]);
    expect(METRIC_NAMES.filter((name) => !names.includes(name))).toEqual([]);
  });

  it('gives every metric its own Prometheus name', () => {
    const names = METRIC_NAMES.map(prometheusName);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^lease_coordinator_[a-z_]+$/);
    expect(prometheusName('FailoverDuration')).toBe('lease_coordinator_failover_duration_seconds');
    expect(prometheusName('Elections')).toBe('lease_coordinator_elections_total');
  });
});
