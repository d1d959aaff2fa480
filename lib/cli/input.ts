import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { ConfigError } from '../errors.js';

/**
 * Loading the `elect` input: a YAML or JSON file (JSON is YAML), one document or a `---`
 * stream, where any document may be a `kind: List` whose items are flattened in place.
 */

/** One object found in the input, with where it was found for messages about unnamed objects. */
export interface InputObject {
  readonly value: unknown;
  /** Its `kind`, when that is a string. */
  readonly kind: string | undefined;
  /** e.g. `document 2`, `document 1, items[3]`. */
  readonly position: string;
}

export interface ParsedInput {
  readonly objects: InputObject[];
  /** Things that were left out while reading (non-object documents, YAML warnings). */
  readonly warnings: string[];
}

/** Reads FILE as UTF-8 text. Throws ConfigError when it cannot be read. */
export async function readInputFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`cannot read --file ${path}: ${reason}`, { cause: error });
  }
}

/**
 * Parses a YAML/JSON document stream into the objects it holds. Empty documents (a bare `---`,
 * comments only) are skipped silently. Throws ConfigError on a syntax error in any document.
 */
export function parseInputObjects(text: string): ParsedInput {
  const objects: InputObject[] = [];
  const warnings: string[] = [];
  // logLevel error: YAML's own warnings are collected below and named per document, not printed by Node.
  parseAllDocuments(text, { logLevel: 'error' }).forEach((doc, index) => {
    const position = `document ${index + 1}`;
    const [error] = doc.errors;
    if (error !== undefined) throw new ConfigError(`cannot parse ${position}: ${error.message.trim()}`);
    for (const warning of doc.warnings) warnings.push(`${position}: ${warning.message.trim()}`);
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new ConfigError(`cannot parse ${position}: ${reason}`, { cause });
    }
    if (value === null || value === undefined) return;
    flatten(value, position, objects, warnings);
  });
  return { objects, warnings };
}

/** A `kind: List` (or a typed list such as LeaseCandidateList) whose items we read one by one. */
function isList(value: Record<string, unknown>): boolean {
  return typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items);
}

function flatten(value: unknown, position: string, out: InputObject[], warnings: string[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    warnings.push(`ignoring ${position}: not an object`);
    return;
  }
  const record = value as Record<string, unknown>;
  if (!isList(record)) {
    out.push({ value, position, kind: typeof record.kind === 'string' ? record.kind : undefined });
    return;
  }
  (record.items as unknown[]).forEach((item, index) => {
    flatten(item, `${position}, items[${index}]`, out, warnings);
  });
}

/** `LeaseCandidate default/c2`, or `LeaseCandidate (document 3)` when the object has no name. */
export function describeObject(object: InputObject, kind = object.kind ?? 'object without a kind'): string {
  const metadata = (object.value as { metadata?: unknown }).metadata;
  const { name, namespace } = (typeof metadata === 'object' && metadata !== null ? metadata : {}) as {
    name?: unknown;
    namespace?: unknown;
  };
  if (typeof name !== 'string' || name === '') return `${kind} (${object.position})`;
  return `${kind} ${typeof namespace === 'string' && namespace !== '' ? namespace : 'default'}/${name}`;
}
