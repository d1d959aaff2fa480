import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { silenceSdkNodeVersionWarning } from '../cli/sdk-node-warning.js';
import { type ClustersConfig, loadClustersConfigFile } from '../clusters/config.js';
import { ConfigError } from '../errors.js';
import { accessFor, configDirOf } from '../kube/kubeconfig.js';
import { LiveView } from '../local/live-view.js';
import { startLocalCoordinator } from '../local/local-coordinator.js';
import { startPackagedCoordinator } from '../local/packaged/packaged-coordinator.js';

/** `npm start`: the whole coordinator on this machine, until Ctrl-C. */
silenceSdkNodeVersionWarning();

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError('--port must be an integer from 0 to 65535 (0 picks a free port)');
  }
  return port;
}

/** A clusters config read and checked while the flags are, so a bad one fails as a bad flag does. */
interface ClustersFile {
  readonly file: string;
  readonly config: ClustersConfig;
}

function parseClustersFile(file: string): ClustersFile {
  try {
    return { file, config: loadClustersConfigFile(file) };
  } catch (error) {
    if (error instanceof ConfigError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

function parseLogLevel(value: string): LogLevel {
  const level = value.toUpperCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new InvalidArgumentError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  }
  return level as LogLevel;
}

const program = new Command('npm start --')
  .description('Run lease-coordinator locally against DynamoDB Local')
  .option('--port <port>', 'HTTP API port on 127.0.0.1', parsePort, 8080)
  .option(
    '--clusters <file>',
    'clusters config (YAML): read candidates from, and mirror Leases into, these clusters',
    parseClustersFile,
  )
  .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`, parseLogLevel, 'WARN' as LogLevel)
  .option(
    '--packaged',
    'run the packaged Lambda bundles (serverless package) in Lambda-like containers instead of the sources',
  )
  .showHelpAfterError('(add --help for usage)')
  // A bad flag exits 2, as every other command line here does (docs/operating.md, "Errors").
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .parse();

const options = program.opts<{
  port: number;
  logLevel: LogLevel;
  clusters?: ClustersFile;
  packaged?: boolean;
}>();
if (options.clusters !== undefined) await checkKubeconfigs(options.clusters);
if (options.packaged === true) await runPackaged();
const clusters =
  options.clusters === undefined
    ? undefined
    : { config: options.clusters.config, configDir: configDirOf(options.clusters.file) };
console.log('lease-coordinator: starting DynamoDB Local…');
const view = new LiveView();
const coordinator = await startLocalCoordinator({
  httpPort: options.port,
  autonomous: true,
  logLevel: options.logLevel,
  observe: (record) => view.update(record),
  onMirror: (key, outcomes) => view.mirrored(key, outcomes),
  onCandidateApi: (cluster, api) => view.candidateApi(cluster, api),
  ...(clusters !== undefined && { clusters }),
});

console.log(`
lease-coordinator is running locally
  heartbeat API   POST ${coordinator.url}/clusters/{cluster}/leasecandidates
  callers         ${
    clusters === undefined
      ? 'any, unchecked: no clusters config (open only because it listens on 127.0.0.1; deployed, 401)'
      : 'per cluster, as httpCallers in the clusters config name them'
  }
  metrics         GET ${coordinator.url}/metrics  (Prometheus text format; deployed: CloudWatch EMF)
  DynamoDB Local  ${coordinator.dynamodb.endpoint}  (table ${coordinator.tableName})
  status          npm run --silent cli -- status --endpoint ${coordinator.dynamodb.endpoint}  (and explain NAMESPACE/NAME)
  elect           stream runner, polling every 250 ms with the deployed filters
  requeue         lease deadlines on in-process timers
  sweep           every 60 s${
    clusters === undefined
      ? ''
      : `\n  clusters        ${clusters.config.clusters.map((c) => c.name).join(', ')}: ingest watches them, mirror writes Leases and pings`
  }
Below: one line per lease, updated as decisions land. Ctrl-C stops everything.
`);

stopOnSignal(coordinator);

/**
 * Each cluster reached through a kubeconfig must name a file and a context that are there: found
 * only by ingest, a mistyped context was a warning every second in a running coordinator. Clusters
 * reached through EKS or a token need the network and are left to ingest, which says what fails.
 */
async function checkKubeconfigs({ file, config }: ClustersFile): Promise<void> {
  for (const [index, cluster] of config.clusters.entries()) {
    if (cluster.kubeconfig === undefined) continue;
    try {
      await accessFor(cluster, index, configDirOf(file));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      program.error(`error: option '--clusters <file>' argument '${file}' is invalid. ${error.message}`);
    }
  }
}

/** Ctrl-C (or SIGTERM) stops everything the coordinator started, then exits. */
function stopOnSignal(running: { stop(): Promise<void> }): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    await running.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

/** `npm start -- --packaged`: what `serverless deploy` ships, run on this machine. */
async function runPackaged(): Promise<never> {
  // Validated with the flags, as the functions would at cold start, so a bad file fails before anything starts.
  const config = options.clusters?.config;
  const view = new LiveView();
  const coordinator = await startPackagedCoordinator({
    httpPort: options.port,
    logLevel: options.logLevel,
    observe: (record) => view.update(record),
    onError: (error) => {
      if (options.logLevel !== 'SILENT') console.error(String(error));
    },
    log: (line) => console.log(`lease-coordinator: ${line}`),
    ...(options.clusters !== undefined && {
      clusters: {
        yaml: readFileSync(options.clusters.file, 'utf8'),
        configDir: configDirOf(options.clusters.file),
      },
    }),
  });
  console.log(`
lease-coordinator is running the packaged bundles (serverless package) in Lambda-like containers
  heartbeat API   POST ${coordinator.url}/clusters/{cluster}/leasecandidates  (the /iam/ routes are not served)
  callers         ${
    config === undefined
      ? 'none: without a clusters config the deployed functions answer every request 401'
      : 'per cluster, as httpCallers in the clusters config (served to the functions as an SSM parameter)'
  }
  DynamoDB Local  ${coordinator.dynamodb.endpoint}  (table ${coordinator.tableName})
  status          npm run --silent cli -- status --endpoint ${coordinator.dynamodb.endpoint}  (and explain NAMESPACE/NAME)
  elect, mirror   the table's stream after the deployed filter criteria, with bisect, retries and record age
  requeue         a local SQS endpoint (${coordinator.timers.url}): whole-second DelaySeconds, batches of up to 10
  sweep, ingest   every minute, as EventBridge would (ingest also once at start)
Each function runs one invocation per container at a time; a new container is a cold start.
Below: one line per lease, updated as decisions land. Ctrl-C stops everything.
`);
  stopOnSignal(coordinator);
  return new Promise<never>(() => {});
}
