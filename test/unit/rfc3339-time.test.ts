import { describe, expect, it } from 'vitest';
import { formatMicroTime, rfc3339Time } from '../../lib/api/time.js';

describe('rfc3339Time (unit)', () => {
  it('rejects a time an offset pushes past year 9999 UTC, which could not be written back (found by the heartbeat fuzz)', () => {
    expect(rfc3339Time.safeParse('9999-12-31T23:59:59.999999999-23:59').success).toBe(false);
    expect(rfc3339Time.safeParse('0000-01-01T00:00:00+01:00').success).toBe(false);
  });

  it('accepts the edges that stay in range, and they format back as RFC 3339', () => {
    for (const value of [
      '9999-12-31T23:59:59.999Z',
      '0000-01-01T00:00:00Z',
      '2026-01-02T15:04:05.000000+02:00',
    ]) {
      const parsed = rfc3339Time.parse(value);
      expect(rfc3339Time.safeParse(formatMicroTime(parsed)).success).toBe(true);
    }
  });

  it.each([
    '2026-02-30T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '2026-04-31T12:00:00.000000Z',
    '2026-01-01T24:00:00Z',
  ])(
    'rejects %s, a day or hour that does not exist, as the apiserver does (JavaScript rolls it over)',
    (value) => {
      expect(rfc3339Time.safeParse(value).success).toBe(false);
    },
  );

  it('accepts the last day of each month, Feb 29 of a leap year included', () => {
    for (const value of [
      '2028-02-29T00:00:00Z',
      '2026-02-28T23:59:59Z',
      '2026-04-30T00:00:00Z',
      '2000-02-29T12:00:00+05:00',
    ])
      expect(rfc3339Time.parse(value)).toBe(Date.parse(value));
  });
});
