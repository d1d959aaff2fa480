import { z } from 'zod';

/**
 * Kubernetes Time/MicroTime on the wire: RFC 3339 with an offset, e.g. 2026-01-02T15:04:05.000000Z.
 * The apiserver itself emits exactly 6 fractional digits for MicroTime and none for Time.
 */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export const rfc3339Time = z
  .string()
  .refine((value) => RFC3339.test(value) && !Number.isNaN(Date.parse(value)), {
    error: 'must be an RFC 3339 time such as 2026-01-02T15:04:05.000000Z',
  })
  .transform((value) => Date.parse(value));

/** MicroTime with 6 digits, the format the apiserver accepts for Lease and LeaseCandidate times. */
export function formatMicroTime(millis: number): string {
  return new Date(millis).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Time (metav1.Time) has second precision. */
export function formatTime(millis: number): string {
  return new Date(millis).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
