import { Logger } from '@aws-lambda-powertools/logger';
import { Command, Option } from 'commander';
import { runProgram } from '../cli/run-program.js';
import { apiserverAccess } from './access.js';
import { runAgent } from './agent.js';
import { alwaysHealthy, httpHealthProbe } from './health.js';
import { KubeCandidates } from './kube.js';
import { DEFAULT_RENEW_PERIOD_SECONDS, parseAgentOptions, type RawFlags } from './options.js';

/**
 * `npm run agent -- --namespace NS --lease NAME --identity ID --binary-version V --emulation-version V`:
 * registers a program that cannot register itself (an unmodified client-go elector where the
 * CoordinatedLeaderElection gate is off) as a LeaseCandidate. See docs/agent.md.
 * Exit status: 0 after withdrawing on SIGTERM/SIGINT, 2 for unusable flags, 1 for anything else.
 */

async function run(flags: RawFlags): Promise<void> {
  const options = parseAgentOptions(flags);
  const access = await apiserverAccess(options);
  const { candidate } = options;
  const logger = new Logger({
    serviceName: 'lease-coordinator-agent',
    persistentKeys: {
      namespace: candidate.namespace,
      lease: candidate.leaseName,
      identity: candidate.identity,
    },
  });
  const stop = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(signal, () => {
      logger.info('withdrawing', { signal });
      stop.abort();
    });
  logger.info('starting', {
    binaryVersion: candidate.binaryVersion,
    emulationVersion: candidate.emulationVersion,
    strategy: candidate.strategy,
    renewPeriodSeconds: options.renewPeriodMs / 1000,
    healthUrl: options.healthUrl?.href ?? null,
  });
  await runAgent(
    {
      port: new KubeCandidates(access, candidate.namespace, candidate.identity),
      health: options.healthUrl !== undefined ? httpHealthProbe(options.healthUrl) : alwaysHealthy,
      clock: Date.now,
      logger,
      candidate,
      renewPeriodMs: options.renewPeriodMs,
      api: options.api,
    },
    stop.signal,
  );
}

const program = new Command('lease-coordinator-agent')
  .description('Keeps a LeaseCandidate renewed for a program that cannot register itself')
  .exitOverride()
  .showHelpAfterError('(add --help for usage)')
  .option(
    '--kubeconfig <file>',
    'kubeconfig (default: $KUBECONFIG, ~/.kube/config, or the pod service account)',
  )
  .option('--context <name>', 'kubeconfig context (default: the current one)')
  // Required, and checked as such by parseAgentOptions: see REQUIRED_FLAGS there.
  .option('--namespace <ns>', 'namespace of the Lease and of the LeaseCandidate (required)')
  .option('--lease <name>', 'the Lease the program competes for (required)')
  .option('--identity <id>', "the program's leader-election identity, the LeaseCandidate's name (required)")
  .option('--binary-version <v>', "the program's binary version, MAJOR.MINOR.PATCH (required)")
  .option('--emulation-version <v>', 'the version it emulates, MAJOR.MINOR.PATCH (required)')
  .option('--strategy <name>', 'coordinated leader election strategy', 'OldestEmulationVersion')
  .option('--health-url <url>', 'renew only while GET URL answers 2xx within 1 s')
  .option(
    '--renew-period <seconds>',
    'renew at least this often, besides answering pings (1-600)',
    String(DEFAULT_RENEW_PERIOD_SECONDS),
  )
  .addOption(
    new Option('--api <which>', 'LeaseCandidate API: the built-in one where served, else the CRD')
      .choices(['auto', 'builtin', 'crd'])
      .default('auto'),
  )
  .action((flags: RawFlags) => run(flags));

await runProgram(program);
// Kept-alive apiserver connections must not hold the process once it has withdrawn.
process.exit();
