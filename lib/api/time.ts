import { z } from 'zod';

/**
 * Kubernetes Time/MicroTime on the wire: RFC 3339 with an offset, e.g. 2026-01-02T15:04:05.000000Z.
 * The apiserver itself emits exactly 6 fractional digits for MicroTime and none for Time.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * The date and hour exist. Date.parse rolls a day past its month's end over (2026-02-30 is March 2)
 * and reads hour 24 as the next day's 00; Go's time.Parse, the apiserver's, refuses both.
 */
function dayAndHourExist([, year, month, day, hour]: RegExpExecArray): boolean {
  const y = Number(year);
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = (DAYS_IN_MONTH[Number(month) - 1] ?? 0) + (leap && month === '02' ? 1 : 0);
  return Number(day) >= 1 && Number(day) <= days && Number(hour) <= 23;
}

/**
 * The instants a four-digit UTC year can show. An offset can push a valid-looking time past them
 * (9999-12-31T23:59:59-23:59 is in year 10000 UTC), and we could not write such a time back.
 */
const EARLIEST = Date.parse('0000-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

export const rfc3339Time = z
  .string()
  .refine(
    (value) => {
      const parts = RFC3339.exec(value);
      const millis = Date.parse(value);
      return (
        parts !== null &&
        dayAndHourExist(parts) &&
        !Number.isNaN(millis) &&
        millis >= EARLIEST &&
        millis <= LATEST
      );
    },
    { error: 'must be an RFC 3339 time such as 2026-01-02T15:04:05.000000Z' },
  )
  .transform((value) => Date.parse(value));

/** MicroTime with 6 digits, the format the apiserver accepts for Lease and LeaseCandidate times. */
export function formatMicroTime(millis: number): string {
  return new Date(millis).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * A MicroTime with a non-zero digit past the milliseconds: client-go stamps microseconds, and
 * formatMicroTime (ours) writes none.
 */
export function subMillisecond(time: string | undefined): boolean {
  return /\.\d{3}\d*[1-9]\d*(Z|[+-])/.test(time ?? '');
}

/** Time (metav1.Time) has second precision. */
export function formatTime(millis: number): string {
  return new Date(millis).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
