import { z } from 'zod';
import { OLDEST_EMULATION_VERSION } from '../election/types.js';
import { qualifiedName } from './names.js';

/**
 * ValidateCoordinatedLeaseStrategy: without a `/` only the in-tree strategy is known; with a
 * `/` any qualified name is a third-party strategy.
 */
export function strategyNameProblem(value: string): string | undefined {
  if (!value.includes('/')) {
    return value === OLDEST_EMULATION_VERSION
      ? undefined
      : `unsupported strategy "${value}": supported values: "${OLDEST_EMULATION_VERSION}", or a qualified name such as "example.com/MyStrategy"`;
  }
  return qualifiedName(value);
}

export const strategyName = z
  .string({ error: 'required: a strategy name' })
  .min(1, { error: 'required: a strategy name', abort: true })
  .refine((value) => strategyNameProblem(value) === undefined, {
    error: (issue) => strategyNameProblem(String(issue.input)),
  });
