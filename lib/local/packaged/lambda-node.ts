import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoordinatorError } from '../../errors.js';
import { withLock } from '../dir-lock.js';

const execFileAsync = promisify(execFile);

/**
 * The Node.js each Lambda runtime the packaged mode can run, pinned to an exact release: the
 * builds the npm registry carries as `node-<platform>-<arch>` (the one source this project
 * downloads Node from), with each tarball's integrity as the registry lists it, so a download
 * that differs from what was pinned is refused.
 */
const LAMBDA_NODES = {
  'nodejs22.x': {
    version: '22.23.5',
    integrity: {
      'linux-x64':
        'sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==',
      'linux-arm64':
        'sha512-e1LOUGKVruPGuLVutn8+Cgm5pI1APm4Kvh+zbb/qe/ZpD9s+TQby5iUgZOWmPpbSKpj0Td8DP1N0NEnXasHizg==',
    } as Readonly<Record<string, string>>,
  },
} as const;

export type LambdaRuntime = keyof typeof LAMBDA_NODES;
export const LAMBDA_RUNTIMES = Object.keys(LAMBDA_NODES) as readonly LambdaRuntime[];

export function isLambdaRuntime(value: unknown): value is LambdaRuntime {
  return typeof value === 'string' && Object.hasOwn(LAMBDA_NODES, value);
}

/** The exact Node release a runtime runs on here (`22.23.5` for `nodejs22.x`). */
export function lambdaNodeVersion(runtime: LambdaRuntime): string {
  return LAMBDA_NODES[runtime].version;
}

/**
 * Set to `host` to run the containers on this machine's `node` instead (offline, or a platform
 * with no pinned build); the packaged mode then says so. Unset, the runtime's Node is required.
 */
export const PACKAGED_NODE_ENV = 'LEASE_COORDINATOR_PACKAGED_NODE';

/** The prefix of a download's work directory, beside the release it becomes. */
const PARTIAL = '.partial-';

export interface LambdaNodeOptions {
  /** Progress lines (the one-time download). */
  readonly log?: ((line: string) => void) | undefined;
  /** Where the cache directory, npm's settings and PACKAGED_NODE_ENV are read from. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The `node` executable that runs `runtime`'s containers: the pinned release from the npm
 * registry, downloaded once per machine into the user's cache directory and verified, or this
 * machine's own when PACKAGED_NODE_ENV says `host`. Throws naming the package when it cannot be
 * fetched.
 */
export async function ensureLambdaNode(
  runtime: LambdaRuntime,
  { log = () => {}, env = process.env }: LambdaNodeOptions = {},
): Promise<string> {
  if (usesHostNode(env)) {
    log(`${PACKAGED_NODE_ENV}=host: the ${runtime} containers run on this machine's node ${process.version}`);
    return process.execPath;
  }
  const release = pinnedRelease(runtime);
  const dir = join(
    env.XDG_CACHE_HOME || join(homedir(), '.cache'),
    'lease-coordinator',
    'node',
    `v${release.version}-${release.platform}`,
  );
  // The stamp is written last, so an interrupted download is redone rather than trusted.
  const stamp = join(dir, '.installed');
  const installed = () => existsSync(stamp) && readFileSync(stamp, 'utf8') === release.integrity;
  if (!installed()) {
    mkdirSync(dir, { recursive: true });
    const fetchOnce = async () => {
      if (installed()) return;
      log(
        `fetching Node ${release.version} for ${runtime} from the npm registry (${release.pkg}, about 52 MB, once per machine)…`,
      );
      await download(release, dir, env);
      writeFileSync(stamp, release.integrity);
    };
    await withLock(join(dir, '.download-lock'), fetchOnce, log);
  }
  return join(dir, 'bin', 'node');
}

/** Whether PACKAGED_NODE_ENV asks for this machine's node; any value but `host` or none is refused. */
function usesHostNode(env: NodeJS.ProcessEnv): boolean {
  const choice = env[PACKAGED_NODE_ENV];
  if (choice !== undefined && choice !== '' && choice !== 'host')
    throw new CoordinatorError(
      `${PACKAGED_NODE_ENV}: must be "host" or unset, not ${JSON.stringify(choice)}`,
    );
  return choice === 'host';
}

/** One pinned Node build: its release, this machine's platform, and its npm package and integrity. */
interface PinnedRelease {
  readonly version: string;
  readonly platform: string;
  readonly pkg: string;
  readonly integrity: string;
}

function pinnedRelease(runtime: LambdaRuntime): PinnedRelease {
  const { version } = LAMBDA_NODES[runtime];
  const platform = `${process.platform}-${process.arch}`;
  const integrity = LAMBDA_NODES[runtime].integrity[platform];
  const pkg = `node-${platform}@${version}`;
  if (integrity === undefined)
    throw new CoordinatorError(
      `no Node ${version} build for ${platform} is pinned for ${runtime} (the npm package ${pkg}); ` +
        `set ${PACKAGED_NODE_ENV}=host to run the containers on this machine's node ${process.version}`,
    );
  return { version, platform, pkg, integrity };
}

/** The `node` of each runtime the functions name (each fetched once per machine, as ensureLambdaNode does). */
export async function ensureLambdaNodes(
  functions: Iterable<{ readonly runtime: LambdaRuntime }>,
  options: LambdaNodeOptions = {},
): Promise<ReadonlyMap<LambdaRuntime, string>> {
  const nodes = new Map<LambdaRuntime, string>();
  for (const { runtime } of functions)
    if (!nodes.has(runtime)) nodes.set(runtime, await ensureLambdaNode(runtime, options));
  return nodes;
}

/** Fetches the package with npm, checks its integrity, and keeps only its `bin/node`. */
async function download(release: PinnedRelease, dir: string, env: NodeJS.ProcessEnv): Promise<void> {
  const { pkg, version, integrity } = release;
  // Under the lock no other download is under way: a partial one left here was killed midway.
  for (const entry of readdirSync(dir))
    if (entry.startsWith(PARTIAL)) rmSync(join(dir, entry), { recursive: true, force: true });
  const work = mkdtempSync(join(dir, PARTIAL));
  try {
    const tarball = join(work, await npmPack(pkg, work, env));
    const actual = await integrityOf(tarball);
    if (actual !== integrity)
      throw new CoordinatorError(
        `${pkg} from the npm registry has integrity ${actual}, not the pinned ${integrity}`,
      );
    await execFileAsync('tar', ['-xzf', tarball, '-C', work, '--strip-components=2', 'package/bin/node']);
    const { stdout } = await execFileAsync(join(work, 'node'), ['--version']);
    if (stdout.trim() !== `v${version}`)
      throw new CoordinatorError(`${pkg}'s bin/node reports ${stdout.trim()}, not v${version}`);
    mkdirSync(join(dir, 'bin'), { recursive: true });
    renameSync(join(work, 'node'), join(dir, 'bin', 'node'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** `npm pack`s a registry package into `into` (npm's own client, cache and settings); returns the file's name. */
async function npmPack(pkg: string, into: string, env: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout } = await execFileAsync(
      'npm',
      ['pack', pkg, '--pack-destination', into, '--json', '--ignore-scripts', '--no-audit', '--no-fund'],
      { cwd: into, env, maxBuffer: 16 * 1024 * 1024 },
    );
    return (JSON.parse(stdout) as { filename: string }[])[0]?.filename as string;
  } catch (error) {
    const detail = String((error as { stderr?: unknown }).stderr ?? error)
      .trim()
      .split('\n')
      .slice(-3)
      .join(' ');
    throw new CoordinatorError(
      `could not fetch ${pkg} (the Node the packaged containers run on) from the npm registry: ${detail}. ` +
        `Set ${PACKAGED_NODE_ENV}=host to run them on this machine's node ${process.version} instead`,
      { cause: error },
    );
  }
}

/** A file's integrity in the registry's form: `sha512-` and the base64 SHA-512 digest. */
export async function integrityOf(file: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha512-${hash.digest('base64')}`;
}
