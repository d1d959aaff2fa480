import { describe, expect, it } from 'vitest';
import { DEFAULT_HISTORY_RETENTION } from '../../lib/ports/history.js';
import { historyRetention, loadConfig } from '../../lib/runtime/config.js';

const BASE = { TABLE_NAME: 'lease-coordinator-ci' };

describe('decision history settings (unit: the function environment)', () => {
  it('keeps 10 records per lease for 7 days by default, as serverless.yml renders unset parameters', () => {
    expect(historyRetention(loadConfig(BASE))).toEqual(DEFAULT_HISTORY_RETENTION);
    expect(
      historyRetention(loadConfig({ ...BASE, DECISION_HISTORY_PER_LEASE: '', DECISION_HISTORY_DAYS: '' })),
    ).toEqual(DEFAULT_HISTORY_RETENTION);
  });

  it('takes a count and days, and keeps none for 0', () => {
    expect(
      historyRetention(
        loadConfig({ ...BASE, DECISION_HISTORY_PER_LEASE: '3', DECISION_HISTORY_DAYS: '0.5' }),
      ),
    ).toEqual({ perLease: 3, retentionMs: 12 * 3600_000 });
    expect(historyRetention(loadConfig({ ...BASE, DECISION_HISTORY_PER_LEASE: '0' }))).toBeUndefined();
  });

  it.each([
    ['DECISION_HISTORY_PER_LEASE', '-1', 'must be a whole number from 0 to 100'],
    ['DECISION_HISTORY_PER_LEASE', '2.5', 'must be a whole number from 0 to 100'],
    ['DECISION_HISTORY_PER_LEASE', 'ten', 'must be a whole number from 0 to 100'],
    ['DECISION_HISTORY_PER_LEASE', ' ', 'must be a whole number from 0 to 100'],
    ['DECISION_HISTORY_DAYS', ' ', 'must be a number of days above 0, at most 365'],
    ['DECISION_HISTORY_DAYS', '0', 'must be a number of days above 0, at most 365'],
    ['DECISION_HISTORY_DAYS', '400', 'must be a number of days above 0, at most 365'],
  ])('fails at cold start naming %s=%s', (name, value, message) => {
    expect(() => loadConfig({ ...BASE, [name]: value })).toThrow(`invalid environment: ${name}: ${message}`);
  });
});
