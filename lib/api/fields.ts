import { z } from 'zod';
import type { NameRule } from './names.js';

/** A string that must be set: unset and empty both say what it is for. */
export function requiredString(what: string) {
  return z.string({ error: `required: ${what}` }).min(1, { error: `required: ${what}`, abort: true });
}

/** A required string field checked by a Kubernetes name rule, with messages that say what is expected. */
export function namedString(rule: NameRule, what: string) {
  return requiredString(what).refine((value) => rule(value) === undefined, {
    error: (issue) => rule(String(issue.input)),
  });
}
