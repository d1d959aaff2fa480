import { Command, InvalidArgumentError } from 'commander';

export interface LoadOptions {
  readonly candidates: number;
  readonly ratePerCandidate: number;
  readonly duration: number;
  readonly connections: number;
  /** Each lease's leader renews it over the holder API (off: every lease expires and is elected again). */
  readonly renew: boolean;
  readonly renewEvery: number;
  /** How long each table-alone phase runs, right before and right after the load. */
  readonly baselineSeconds: number;
  /** Pairs of short closed-loop phases after the load, the table alone then HTTP, alternating. */
  readonly rounds: number;
  readonly roundSeconds: number;
  readonly out: string;
}

function positiveInteger(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('must be a positive integer');
  return Number(value);
}

/** Parses the flags; a bad flag exits 2 with commander's message, which names the flag. */
export function parseLoadOptions(argv: readonly string[]): LoadOptions {
  const program = new Command('load')
    .description('Heartbeat load against the local stack (DynamoDB Local + HTTP API + elect stream)')
    .option('--candidates <n>', 'candidates, spread three per lease', positiveInteger, 1000)
    .option('--rate-per-candidate <n>', 'heartbeats per second per candidate', positiveInteger, 1)
    .option('--duration <seconds>', 'how long to send', positiveInteger, 300)
    .option('--connections <n>', 'keep-alive connections to the HTTP API', positiveInteger, 64)
    .option('--renew-every <seconds>', "how often each lease's leader renews it", positiveInteger, 2)
    .option('--no-renew', 'leaders never renew: every lease runs out and is elected again (a storm)')
    .option(
      '--baseline-seconds <seconds>',
      'how long the table alone runs right before and right after the load',
      positiveInteger,
      20,
    )
    .option(
      '--rounds <n>',
      'pairs of closed-loop phases after the load, the table alone then HTTP',
      positiveInteger,
      4,
    )
    .option('--round-seconds <seconds>', 'how long each of those phases runs', positiveInteger, 5)
    .option('--out <dir>', 'where the markdown report goes', 'bench/results')
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
    .parse([...argv], { from: 'user' });
  return program.opts<LoadOptions>();
}
