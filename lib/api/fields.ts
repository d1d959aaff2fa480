import { z } from 'zod';
import type { NameRule } from './names.js';

/** A required string field checked by a Kubernetes name rule, with messages that say what is expected. */
export function namedString(rule: NameRule, what: string) {
  return z
    .string({ error: `required: ${what}` })
    .min(1, { error: `required: ${what}`, abort: true })
    .refine((value) => rule(value) === undefined, { error: (issue) => rule(String(issue.input)) });
}
