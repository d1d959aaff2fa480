import { distance } from 'fastest-levenshtein';
import type { z } from 'zod';
import { type FieldIssue, ValidationError } from '../errors.js';

/**
 * Field paths the way kubectl prints them: `spec.preferredStrategies[1]`. Every config, flag and
 * API error names its field through this one function, so one field is written one way.
 */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`,
    )
    .join('');
}

/**
 * One issue per bad field. zod names an object with unknown keys, all of them in one message: here
 * each unknown key is its own field, with the nearest key `schema` knows there when one is close
 * (a mistyped key is the likeliest cause, and the name it meant is the fix).
 */
export function toValidationError(error: z.ZodError, schema: z.ZodType): ValidationError {
  const issues: FieldIssue[] = error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          path: formatPath([...issue.path, key]),
          message: unknownKeyMessage(key, keysAt(schema, issue.path)),
        }))
      : [{ path: formatPath(issue.path), message: issue.message }],
  );
  return new ValidationError(issues, { cause: error });
}

/** Parses with a schema and throws ValidationError naming every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw toValidationError(result.error, schema);
  return result.data;
}

/** JSON.parse, with text that is no JSON refused as a ValidationError naming `path`. */
export function parseJsonOrThrow(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationError([{ path, message: `invalid JSON: ${(error as Error).message}` }], {
      cause: error,
    });
  }
}

export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const nearest = nearestKey(key, known);
  if (nearest !== undefined) return `unknown field (did you mean "${nearest}"?)`;
  return known.length === 0 ? 'unknown field' : `unknown field (the fields here: ${known.join(', ')})`;
}

/**
 * The known key a mistyped one most likely meant: the same but for case (`kubeConfig`), else at
 * most a third of its letters away (`leaseGroup`, `cluster`), as a one-letter slip on a short key
 * is and an unrelated word is not.
 */
function nearestKey(key: string, known: readonly string[]): string | undefined {
  const scored = known.map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) }));
  const best = scored.sort((a, b) => a.d - b.d)[0];
  return best !== undefined && best.d <= Math.max(1, Math.floor(key.length / 3)) ? best.k : undefined;
}

/** The keys the object schema at `path` declares (none when the path leads to no object). */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let at: unknown = schema;
  for (const part of path) {
    const def = innermost(at);
    at = typeof part === 'number' ? def?.element : def?.shape?.[String(part)];
  }
  return Object.keys(innermost(at)?.shape ?? {});
}

/** The parts of zod's schema definitions walked here: an object's shape, an array's element. */
interface SchemaDef {
  readonly shape?: Record<string, unknown>;
  readonly element?: unknown;
  readonly innerType?: unknown;
  readonly in?: unknown;
}

/** A schema's definition, through the wrappers (optional, default, nullable, pipe) around it. */
function innermost(schema: unknown): SchemaDef | undefined {
  let def = (schema as { _zod?: { def?: SchemaDef } } | undefined)?._zod?.def;
  while (def !== undefined && def.shape === undefined && def.element === undefined) {
    const inner = def.innerType ?? def.in;
    if (inner === undefined) return def;
    def = (inner as { _zod?: { def?: SchemaDef } })._zod?.def;
  }
  return def;
}
