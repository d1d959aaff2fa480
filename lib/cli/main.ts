import { Command, InvalidArgumentError } from 'commander';
import { rfc3339Time } from '../api/time.js';
import { electFile } from './elect-command.js';
import { runProgram } from './run-program.js';

/**
 * `npm run --silent cli -- elect --file FILE [--now RFC3339]`: a dry run of one election step.
 * Exit status: 0 when FILE was read (even if the step is an error), 2 for unusable arguments or
 * input, 1 for anything unexpected.
 */

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

await runProgram(program);
