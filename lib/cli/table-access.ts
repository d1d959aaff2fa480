import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { InvalidArgumentError } from 'commander';
import { dns1123Label, dns1123Subdomain } from '../api/names.js';
import { ConfigError } from '../errors.js';
import { LOCAL_TABLE } from '../local/table.js';
import { DEFAULT_HISTORY_RETENTION } from '../ports/history.js';
import type { LeaseKey } from '../ports/lease-key.js';
import { TABLE_CLIENT_CACHING, tableClient } from '../runtime/aws-clients.js';
import { DynamoDbDecisionHistory } from '../store/decision-history.js';
import { DynamoDbStore } from '../store/dynamodb-store.js';

/** Where the table is: `--table`, `--region`, `--endpoint` (DynamoDB Local, whose URL `npm start` prints). */
export interface TableFlags {
  readonly table?: string;
  readonly region?: string;
  readonly endpoint?: string;
}

export interface TableAccess {
  readonly store: DynamoDbStore;
  readonly history: DynamoDbDecisionHistory;
  /** How errors name the table: "table T in us-east-1" or "table T at http://127.0.0.1:8000". */
  readonly where: string;
  close(): void;
}

/** DynamoDB's own table-name rule. */
export function parseTableName(value: string): string {
  if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(value))
    throw new InvalidArgumentError(
      "--table must be 3 to 255 characters of 'a-z', 'A-Z', '0-9', '_', '-' and '.'",
    );
  return value;
}

export function parseRegion(value: string): string {
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(value))
    throw new InvalidArgumentError('--region must be an AWS region such as eu-west-1');
  return value;
}

export function parseEndpoint(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('--endpoint must be a URL such as http://127.0.0.1:8000');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError('--endpoint must be an http or https URL');
  return value;
}

/** `NAMESPACE/NAME` of a Lease. */
export function parseLeaseRef(value: string): { namespace: string; name: string } {
  const [namespace, name, ...rest] = value.split('/');
  if (namespace === undefined || name === undefined || rest.length > 0)
    throw new InvalidArgumentError(
      `lease "${value}" must be NAMESPACE/NAME, such as kube-system/kube-scheduler`,
    );
  const bad = dns1123Label(namespace) ?? dns1123Subdomain(name);
  if (bad !== undefined) {
    const which = dns1123Label(namespace) !== undefined ? `namespace "${namespace}"` : `name "${name}"`;
    throw new InvalidArgumentError(`lease "${value}": ${which} ${bad}`);
  }
  return { namespace, name };
}

/** `--scope`: one cluster, or a lease group's clusters joined by "+". */
export function parseScope(value: string): string {
  const bad = value.split('+').find((cluster) => dns1123Subdomain(cluster) !== undefined);
  if (bad !== undefined)
    throw new InvalidArgumentError(
      `--scope "${value}": each cluster name (joined by "+" for a lease group) ${dns1123Subdomain(bad)}`,
    );
  return value;
}

/**
 * Opens the table with the usual AWS credential chain. Against `--endpoint` (DynamoDB Local, which
 * accepts any key) the chain may find nothing: placeholder credentials then stand in. Without a
 * `--table`, `--endpoint` means npm start's table; a deployed table must be named.
 */
export function openTable(flags: TableFlags): TableAccess {
  const table = flags.table ?? (flags.endpoint !== undefined ? LOCAL_TABLE : undefined);
  if (table === undefined)
    throw new ConfigError(
      `--table is required without --endpoint: the deployed table's name (the stack's CoordinatorTable, e.g. from \`aws cloudformation describe-stack-resource --stack-name lease-coordinator-prod --logical-resource-id CoordinatorTable\`), or --endpoint URL for npm start's DynamoDB Local (table ${LOCAL_TABLE})`,
    );
  const chain = defaultProvider();
  const region = flags.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  const settings = {
    maxAttempts: 2,
    ...(flags.endpoint !== undefined && { endpoint: flags.endpoint }),
    ...(region !== undefined ? { region } : flags.endpoint !== undefined && { region: 'us-east-1' }),
    credentials:
      flags.endpoint === undefined
        ? chain
        : async () => chain().catch(() => ({ accessKeyId: 'local', secretAccessKey: 'local' })),
  };
  // DynamoDB Local gets the sources runtime's client, unbounded, for its reason (lib/local/dynamodb-local.ts).
  const client =
    flags.endpoint === undefined
      ? tableClient(settings)
      : new DynamoDBClient({ ...settings, ...TABLE_CLIENT_CACHING });
  return {
    store: new DynamoDbStore(client, table),
    history: new DynamoDbDecisionHistory(client, table, DEFAULT_HISTORY_RETENTION),
    where: `table ${table} ${flags.endpoint !== undefined ? `at ${flags.endpoint}` : `in ${region ?? 'the default region'}`}`,
    close: () => client.destroy(),
  };
}

/**
 * What went wrong reaching the table, said as an operator can act on it (exit status 2), or the
 * error itself when it is none of these.
 */
export function tableError(error: unknown, access: Pick<TableAccess, 'where'>, endpoint?: string): unknown {
  if (!(error instanceof Error)) return error;
  const code = (error as { code?: string }).code ?? (error.cause as { code?: string } | undefined)?.code;
  const say = (message: string) => new ConfigError(message, { cause: error });
  if (error.name === 'ResourceNotFoundException') return say(`${access.where}: no such table`);
  if (error.name === 'CredentialsProviderError' || /Could not load credentials/.test(error.message))
    return say(
      `no AWS credentials: the usual chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, ~/.aws, SSO, an instance role) found none for ${access.where}`,
    );
  if (/Region is missing/.test(error.message))
    return say('no AWS region: give --region, or set AWS_REGION (or a region in your AWS profile)');
  if (
    ['UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException'].includes(error.name)
  )
    return say(`AWS credentials rejected for ${access.where}: ${error.message}`);
  if (error.name === 'AccessDeniedException')
    return say(`access denied to ${access.where}: ${error.message}`);
  // The SDK names an answer it cannot read as DynamoDB's "Unknown": another HTTP server, such as the
  // heartbeat API that npm start prints beside the DynamoDB Local URL.
  if (error.name === 'Unknown') {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    return say(
      `${access.where}: the endpoint answered HTTP ${status ?? '(no status)'} ${error.message}, not as DynamoDB does${endpoint === undefined ? '' : ': --endpoint takes the DynamoDB Local URL npm start prints, not its heartbeat API'}`,
    );
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH')
    return say(
      `cannot reach DynamoDB${endpoint === undefined ? '' : ` at ${endpoint}`} (${code})${endpoint === undefined ? '' : ': is npm start running? It prints its DynamoDB Local URL'}`,
    );
  return error;
}

/** A lease's key, for messages. */
export function showKey(key: LeaseKey): string {
  return `${key.namespace}/${key.name} (scope ${key.scope})`;
}
