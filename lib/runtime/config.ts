import { z } from 'zod';
import { toValidationError } from '../api/issues.js';
import { ConfigError } from '../errors.js';

const environment = z.object({
  TABLE_NAME: z.string({ error: 'required: the DynamoDB table name' }).min(1, { error: 'must not be empty' }),
  TIMER_QUEUE_URL: z.url({ error: 'must be the URL of the SQS timer queue' }).optional(),
  DYNAMODB_ENDPOINT: z.url({ error: 'must be a URL such as http://127.0.0.1:8000' }).optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** SSM parameter holding the clusters config (YAML); without it leases are ungrouped and no cluster is read. */
  /** The `service` dimension of every metric: the stack's name, so stages in one account stay apart. */
  METRICS_SERVICE: z.string().min(1).default('lease-coordinator'),
  CLUSTERS_CONFIG_PARAMETER: z
    .string()
    .startsWith('/', { error: 'must be an SSM parameter name starting with /' })
    .optional(),
});

export type RuntimeConfig = z.output<typeof environment>;

/** Reads the function environment; a bad value fails at cold start, naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  // serverless.yml renders an unset optional parameter as "": treat it as unset.
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = environment.safeParse(set);
  if (!result.success) {
    throw new ConfigError(`invalid environment: ${toValidationError(result.error).message}`);
  }
  return result.data;
}
