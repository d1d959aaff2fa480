import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prometheusName } from '../../lib/metrics/prometheus-metrics.js';
import { METRIC_NAMES } from '../../lib/ports/metrics.js';
import { candidate, startTestStack, type TestStack } from '../helpers/local-stack.js';

const VERSIONS = { binary: '1.34.0', emulation: '1.34.0' };

/** GET /metrics as Prometheus scrapes it. */
async function scrape(stack: TestStack): Promise<{ contentType: string | null; text: string }> {
  const response = await fetch(`${stack.url}/metrics`);
  expect(response.status).toBe(200);
  return { contentType: response.headers.get('content-type'), text: await response.text() };
}

/** The value of one sample line (`name{labels} value`), or undefined when there is none. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics on the local runtime (integration: DynamoDB Local)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('serves every metric of the catalogue in Prometheus text format, counting what the runtime did', async () => {
    const before = await scrape(stack);
    expect(before.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of METRIC_NAMES) expect(before.text).toContain(`# TYPE ${prometheusName(name)} `);

    const now = stack.clock.now;
    expect(
      (await stack.post('/clusters/alpha/leasecandidates', candidate('sched-a', VERSIONS, now))).status,
    ).toBe(201);
    await stack.streams.drain();
    // Rejected: a body that is not a LeaseCandidate, and a heartbeat older than the stored one
    // (refused by the table's condition).
    expect((await stack.postRaw('/clusters/alpha/leasecandidates', '{"kind":')).status).toBe(400);
    expect(
      (await stack.post('/clusters/alpha/leasecandidates', candidate('sched-a', VERSIONS, now - 1_000)))
        .status,
    ).toBe(409);

    const { text } = await scrape(stack);
    expect(sample(text, 'lease_coordinator_elections_total{scope="alpha"}')).toBe(1);
    expect(sample(text, 'lease_coordinator_holder_changes_total{scope="alpha"}')).toBe(1);
    expect(sample(text, 'lease_coordinator_heartbeats_rejected_total{reason="Invalid"}')).toBe(1);
    expect(sample(text, 'lease_coordinator_heartbeats_rejected_total{reason="Conflict"}')).toBe(1);
    const refused = text
      .split('\n')
      .filter((l) => l.startsWith('lease_coordinator_conditional_check_failures_total{'))
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    expect(refused).toBeGreaterThanOrEqual(1);

    // A sweep reports its leaderless leases: none, the lease has a live holder.
    await stack.sweep();
    const swept = await scrape(stack);
    expect(sample(swept.text, 'lease_coordinator_leases_without_live_holder')).toBe(0);
  });
});
