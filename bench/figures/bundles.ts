import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;

/** The deployed functions, as serverless.yml names them. */
export const FUNCTIONS = ['heartbeat', 'leases', 'elect', 'requeue', 'sweep', 'ingest', 'mirror'] as const;

/** What the deployed runtime sets (serverless.yml provider.environment), and nothing. */
const MODES = { maps: '--enable-source-maps', plain: '' } as const;
type Mode = keyof typeof MODES;

/** One fresh process's import: wall time, and the CPU time the process spent (less load-sensitive). */
export interface ImportTime {
  readonly wallMs: number;
  readonly cpuMs: number;
  /** The SSM client's import after the bundle's, as the first call that reads the clusters config makes it. */
  readonly ssm?: { readonly wallMs: number; readonly cpuMs: number };
}

/** From `import()` to the module's export being ready, one per fresh process, per NODE_OPTIONS. */
export interface InitSamples {
  readonly maps: ImportTime[];
  readonly plain: ImportTime[];
}

export interface BundleRow {
  readonly fn: string;
  readonly zipBytes: number;
  readonly bundleBytes: number;
  readonly mapBytes: number;
  /** Whether @kubernetes/client-node is among the bundle's sources (its source map lists every input). */
  readonly kubeClient: boolean;
  readonly init: InitSamples;
}

export interface BundleResult {
  readonly node: string;
  readonly runs: number;
  readonly rows: BundleRow[];
  /** A bare import of @aws-sdk/client-dynamodb, timed in the same processes' manner, interleaved. */
  readonly sdk: InitSamples;
}

/**
 * Packages the stack (or reuses .serverless when it is newer than every source), unzips each
 * function's zip beside a node_modules that provides the AWS SDK as the Lambda runtime does, and
 * times the import of each bundle in fresh `node` processes, interleaved with a bare import of the
 * DynamoDB client so that every row meets the same machine load.
 */
export async function measureBundles(runs: number, log: (line: string) => void): Promise<BundleResult> {
  const packaged = join(root, '.serverless');
  if (isFresh(packaged)) log('bundles: reusing .serverless (newer than every source)');
  else {
    log('bundles: npx serverless package --stage ci');
    await execFileAsync('npx', ['serverless', 'package', '--stage', 'ci'], {
      cwd: root,
      env: credentialFreeEnv(),
      maxBuffer: 16 * 1024 * 1024,
    });
  }
  const run = mkdtempSync(join(tmpdir(), 'lease-coordinator-bundles-'));
  try {
    symlinkSync(join(root, 'node_modules'), join(run, 'node_modules'));
    const unpacked = [];
    for (const fn of FUNCTIONS) {
      await execFileAsync('python3', ['-m', 'zipfile', '-e', join(packaged, `${fn}.zip`), join(run, fn)]);
      unpacked.push({ fn, bundle: join(run, fn, 'functions', `${fn}.mjs`) });
    }
    const targets = [
      ...unpacked.map(({ fn, bundle }) => ({
        name: fn,
        specifier: pathToFileURL(bundle).href,
        export: 'handler',
        thenSsm: true,
      })),
      { name: 'sdk', specifier: '@aws-sdk/client-dynamodb', export: 'DynamoDBClient', thenSsm: false },
    ];
    const samples = new Map<string, InitSamples>(targets.map((t) => [t.name, { maps: [], plain: [] }]));
    for (let i = 0; i < runs; i++) {
      log(`bundles: init run ${i + 1} of ${runs}`);
      for (const mode of Object.keys(MODES) as Mode[])
        for (const target of targets)
          samples.get(target.name)?.[mode].push(await timeImport(run, target, mode));
    }
    const rows = unpacked.map(({ fn, bundle }) => ({
      fn,
      zipBytes: statSync(join(packaged, `${fn}.zip`)).size,
      bundleBytes: statSync(bundle).size,
      mapBytes: existsSync(`${bundle}.map`) ? statSync(`${bundle}.map`).size : 0,
      kubeClient: bundledSources(`${bundle}.map`).some((s) =>
        s.includes('node_modules/@kubernetes/client-node/'),
      ),
      init: samples.get(fn) as InitSamples,
    }));
    return { node: process.version, runs, rows, sdk: samples.get('sdk') as InitSamples };
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
}

/**
 * One fresh process: the time from `import()` to the named export being there; then, for a
 * bundle, the SSM client's import that its first call adds (the clusters config is read then).
 */
async function timeImport(
  cwd: string,
  target: { specifier: string; export: string; thenSsm: boolean },
  mode: Mode,
): Promise<ImportTime> {
  const script = [
    'const timed = async (specifier) => {',
    '  const [wall, cpu] = [performance.now(), process.cpuUsage()];',
    '  const module = await import(specifier);',
    '  const used = process.cpuUsage(cpu);',
    '  return { module, wallMs: performance.now() - wall, cpuMs: (used.user + used.system) / 1000 };',
    '};',
    'const { module, wallMs, cpuMs } = await timed(process.argv[1]);',
    `if (typeof module[process.argv[2]] !== 'function') throw new Error(process.argv[2] + ' is not exported');`,
    `const ssm = process.argv[3] === 'ssm' ? await timed('@aws-sdk/client-ssm') : undefined;`,
    'const after = ssm && { ssm: { wallMs: ssm.wallMs, cpuMs: ssm.cpuMs } };',
    'process.stdout.write(JSON.stringify({ wallMs, cpuMs, ...after }));',
  ].join('\n');
  const { stdout } = await execFileAsync(
    process.execPath,
    ['--input-type=module', '-e', script, target.specifier, target.export, target.thenSsm ? 'ssm' : ''],
    // As a Lambda container starts: its NODE_OPTIONS alone (none of the bench's own loaders).
    { cwd, env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1', NODE_OPTIONS: MODES[mode] } },
  );
  return JSON.parse(stdout) as ImportTime;
}

/** The inputs esbuild bundled, as the linked source map lists them (relative paths). */
function bundledSources(mapPath: string): string[] {
  if (!existsSync(mapPath)) return [];
  return (JSON.parse(readFileSync(mapPath, 'utf8')) as { sources: string[] }).sources;
}

/** .serverless holds every function's zip, written after the last change to anything bundled. */
function isFresh(packaged: string): boolean {
  const zips = FUNCTIONS.map((fn) => join(packaged, `${fn}.zip`));
  if (!zips.every((zip) => existsSync(zip))) return false;
  const packagedAt = Math.min(...zips.map((zip) => statSync(zip).mtimeMs));
  const inputs = ['lib', 'functions', 'infra', 'serverless.yml', 'package.json', 'package-lock.json'];
  return inputs.every((input) => newestChange(join(root, input)) < packagedAt);
}

function newestChange(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestChange(join(path, name))));
}

/** serverless package needs no AWS credentials; the bench lends it none. */
function credentialFreeEnv(): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), 'lease-coordinator-home-'));
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_'))),
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    HOME: home,
    npm_config_cache: join(process.env.HOME ?? home, '.npm'),
  };
}
