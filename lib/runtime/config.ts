import { z } from 'zod';
import { toValidationError } from '../api/issues.js';
import { ConfigError } from '../errors.js';
import type { HistoryRetention } from '../ports/history.js';

/** A number in the environment: z.coerce reads a blank string as 0, which no one means. */
const blankIsNoNumber = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? Number.NaN : value;

const environment = z.object({
  TABLE_NAME: z.string({ error: 'required: the DynamoDB table name' }).min(1, { error: 'must not be empty' }),
  TIMER_QUEUE_URL: z.url({ error: 'must be the URL of the SQS timer queue' }).optional(),
  DYNAMODB_ENDPOINT: z.url({ error: 'must be a URL such as http://127.0.0.1:8000' }).optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** The `service` dimension of every metric: the stack's name, so stages in one account stay apart. */
  METRICS_SERVICE: z.string().min(1).default('lease-coordinator'),
  /** SSM parameter holding the clusters config (YAML); without it leases are ungrouped and no cluster is read. */
  CLUSTERS_CONFIG_PARAMETER: z
    .string()
    .startsWith('/', { error: 'must be an SSM parameter name starting with /' })
    .optional(),
  /** Decision history (docs/operating.md): records kept per lease (0: none kept) and for how many days. */
  DECISION_HISTORY_PER_LEASE: z.preprocess(
    blankIsNoNumber,
    z.coerce
      .number({ error: 'must be a whole number from 0 to 100' })
      .int({ error: 'must be a whole number from 0 to 100' })
      .min(0, { error: 'must be a whole number from 0 to 100' })
      .max(100, { error: 'must be a whole number from 0 to 100' })
      .default(10),
  ),
  DECISION_HISTORY_DAYS: z.preprocess(
    blankIsNoNumber,
    z.coerce
      .number({ error: 'must be a number of days above 0, at most 365' })
      .positive({ error: 'must be a number of days above 0, at most 365' })
      .max(365, { error: 'must be a number of days above 0, at most 365' })
      .default(7),
  ),
});

/** The decision history's retention from the environment; undefined when none is kept. */
export function historyRetention(config: RuntimeConfig): HistoryRetention | undefined {
  if (config.DECISION_HISTORY_PER_LEASE === 0) return undefined;
  return {
    perLease: config.DECISION_HISTORY_PER_LEASE,
    retentionMs: config.DECISION_HISTORY_DAYS * 24 * 3600_000,
  };
}

export type RuntimeConfig = z.output<typeof environment>;

/** Reads the function environment; a bad value fails at cold start, naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  // serverless.yml renders an unset optional parameter as "": treat it as unset.
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = environment.safeParse(set);
  if (!result.success) {
    throw new ConfigError(`invalid environment: ${toValidationError(result.error, environment).message}`);
  }
  return result.data;
}
