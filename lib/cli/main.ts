import { Command, InvalidArgumentError, Option } from 'commander';
import { rfc3339Time } from '../api/time.js';
import { electFile } from './elect-command.js';
import { explain, renderExplanation } from './explain-command.js';
import { OUTPUT_FORMATS, type OutputFormat } from './format.js';
import { runProgram } from './run-program.js';
import { silenceSdkNodeVersionWarning } from './sdk-node-warning.js';
import { readStatuses, renderStatuses, watchStatuses } from './status-command.js';
import {
  openTable,
  parseEndpoint,
  parseLeaseRef,
  parseRegion,
  parseScope,
  parseTableName,
  type TableAccess,
  type TableFlags,
  tableError,
} from './table-access.js';

/**
 * `npm run --silent cli -- elect --file FILE [--now RFC3339]`: a dry run of one election step.
 * `status` and `explain`: the leases of a table as the coordinator judges them (docs/operating.md).
 * Exit status: 0 on success (for elect: FILE was read, even if the step is an error), 2 for
 * unusable arguments or input and for a table that cannot be read (unknown lease, no credentials,
 * table not found), 1 for anything unexpected.
 */

silenceSdkNodeVersionWarning();

function parseNow(value: string): number {
  const parsed = rfc3339Time.safeParse(value);
  if (!parsed.success) {
    throw new InvalidArgumentError('--now must be an RFC 3339 time such as 2026-07-01T12:00:00Z');
  }
  return parsed.data;
}

const program = new Command('lease-coordinator')
  .description('Coordinated Leader Election (KEP-4355) coordinator tools')
  .exitOverride()
  .showHelpAfterError('(add --help for usage)');

program
  .command('elect')
  .description('Dry run: read LeaseCandidates and a Lease, run one reconcile step, print what it would do')
  .requiredOption(
    '--file <path>',
    'YAML or JSON: LeaseCandidates and at most one Lease (a List or a --- stream)',
  )
  .option('--now <rfc3339>', 'the coordinator clock (default: the current time)', parseNow)
  .addHelpText(
    'after',
    `
Reads LeaseCandidate objects (coordination.k8s.io/v1alpha1, v1alpha2, v1beta1, and
coordination.lease-coordinator.dev/v1 from our CRD) and at most one coordination.k8s.io/v1 Lease, all for the lease named by the first valid LeaseCandidate
(namespace defaults to "default"). Objects that fail validation, belong to another lease or are
of another kind are reported on stderr and left out. Candidates are placed in cluster "local";
one without metadata.creationTimestamp is taken as created at --now (the youngest possible, so
it loses age ties to candidates that carry a timestamp).

Prints one JSON object on stdout:
  {"lease": {"namespace", "name"}, "action", "ping": [candidate names],
   "write": <Lease object or null>, "requeueAfterSeconds", "error": <string or null>}

Exit status: 0 when the file was read (even if action is "error"); 2 when the arguments are
wrong, the file cannot be read or parsed, or it holds no valid LeaseCandidate.`,
  )
  .action(async (options: { file: string; now?: number }) => {
    const { output, warnings } = await electFile(options.file, options.now ?? Date.now());
    for (const warning of warnings) process.stderr.write(`${warning}\n`);
    process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  });

/** The flags that say which table to read, shared by status and explain. */
function withTableFlags(command: Command): Command {
  return command
    .option(
      '--table <name>',
      `the table (default with --endpoint: npm start's, lease-coordinator-local)`,
      parseTableName,
    )
    .option('--region <region>', 'AWS region (default: AWS_REGION or your profile)', parseRegion)
    .option(
      '--endpoint <url>',
      'DynamoDB endpoint, e.g. the DynamoDB Local URL npm start prints',
      parseEndpoint,
    )
    .addOption(
      new Option('-o, --output <format>', 'table, json or yaml').choices(OUTPUT_FORMATS).default('table'),
    );
}

/** Opens the table, runs `read`, and turns a failure to reach it into a message that names it. */
async function withTable<T>(flags: TableFlags, read: (access: TableAccess) => Promise<T>): Promise<T> {
  const access = openTable(flags);
  try {
    return await read(access);
  } catch (error) {
    throw tableError(error, access, flags.endpoint);
  } finally {
    access.close();
  }
}

type ReadOptions = TableFlags & { output: OutputFormat };

withTableFlags(
  program
    .command('status')
    .description(
      'List every lease: holder, term, time to expiry, preferred holder, candidates, last decision',
    )
    .option('-w, --watch', 'after listing, print each lease again when it changes (Ctrl-C stops)'),
).action(async (options: ReadOptions & { watch?: boolean }) => {
  await withTable(options, async (access) => {
    if (options.watch !== true) {
      const now = Date.now();
      process.stdout.write(`${renderStatuses(await readStatuses(access, now), options.output, now)}\n`);
      return;
    }
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    await watchStatuses(access, {
      format: options.output,
      write: (text) => process.stdout.write(text),
      clock: Date.now,
      signal: stop.signal,
    });
  });
});

withTableFlags(
  program
    .command('explain')
    .description(
      'Why a lease is held as it is: ranked candidates, what the coordinator waits for, recent decisions',
    )
    .argument('<NAMESPACE/NAME>', 'the Lease, e.g. kube-system/kube-scheduler', parseLeaseRef)
    .option(
      '--scope <scope>',
      'its cluster, or its lease group\'s clusters joined by "+" (needed when in several)',
      parseScope,
    ),
).action(async (ref: { namespace: string; name: string }, options: ReadOptions & { scope?: string }) => {
  await withTable(options, async (access) => {
    const now = Date.now();
    const explained = await explain(access, ref, options.scope, now);
    process.stdout.write(`${renderExplanation(explained, options.output, now)}\n`);
  });
});

await runProgram(program);
