/**
 * The subset of Lambda event-filter patterns our stream filters use (infra/stream-filters.json):
 * nested objects, lists of allowed values, `{ "prefix": "..." }` and `{ "exists": bool }`.
 * The local stream runner applies the deployed patterns with it, so a record that would not
 * wake `elect` on AWS does not wake it locally either.
 */
export type FilterPattern = { readonly [key: string]: FilterPattern | readonly FilterValue[] };
type FilterValue = string | number | boolean | null | { prefix: string } | { exists: boolean };

export function matchesAny(patterns: readonly FilterPattern[], event: unknown): boolean {
  return patterns.length === 0 || patterns.some((pattern) => matches(pattern, event));
}

export function matches(pattern: FilterPattern, value: unknown): boolean {
  return Object.entries(pattern).every(([key, expected]) => {
    const actual = isRecord(value) ? value[key] : undefined;
    if (Array.isArray(expected)) return expected.some((allowed) => matchesValue(allowed, actual));
    return actual !== undefined && matches(expected as FilterPattern, actual);
  });
}

function matchesValue(allowed: FilterValue, actual: unknown): boolean {
  if (allowed !== null && typeof allowed === 'object') {
    if ('prefix' in allowed) return typeof actual === 'string' && actual.startsWith(allowed.prefix);
    return allowed.exists === (actual !== undefined);
  }
  return actual === allowed;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
