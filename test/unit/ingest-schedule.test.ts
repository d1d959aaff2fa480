import { describe, expect, it } from 'vitest';
import { deployedFunction } from '../../bench/serverless-functions.js';
import { DEADLINE_MARGIN_MS, SCHEDULE_EVERY_MS } from '../../lib/handlers/ingest.js';

/** The deployed ingest function (serverless.yml). */
const ingest = deployedFunction('ingest');

const RATES: Record<string, number> = { 'rate(1 minute)': 60_000 };

describe('the deployed ingest schedule (unit: serverless.yml)', () => {
  it('starts the next run when this one hands its holders’ renewals over, before this one stops', () => {
    const schedules = ingest.events.map((e) => e.schedule).filter((s) => s !== undefined);
    expect(schedules).toHaveLength(1);
    expect(RATES[schedules[0] as string]).toBe(SCHEDULE_EVERY_MS);
    // The run stops DEADLINE_MARGIN_MS before its timeout: the runs overlap after the handover.
    expect(ingest.timeout * 1000 - DEADLINE_MARGIN_MS).toBeGreaterThan(SCHEDULE_EVERY_MS);
  });
});
