import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FUNCTION_NAMES, type FunctionName } from '../invocations.js';

const execFileAsync = promisify(execFile);
const ROOT = new URL('../../..', import.meta.url).pathname;
/**
 * Where the packaged mode keeps its zips: not `.serverless`, which every `serverless package` run
 * empties first (the package test's own run included), so these survive until their sources change.
 */
export const PACKAGE_DIR = join(ROOT, '.lease-coordinator', 'package');
/** What the bundles are built from: a change to any of them makes the zips stale. */
const SOURCES = ['functions', 'lib', 'infra', 'serverless.yml', 'package-lock.json'];
/** Local-only code no function imports. */
const NOT_BUNDLED = new Set(['local', 'kube-local', 'cli'].map((dir) => join(ROOT, 'lib', dir)));

/**
 * Runs `serverless package --stage ci` (offline, no credentials) unless every zip is newer than
 * every source it is built from. Returns the package directory.
 */
export async function ensurePackaged(log: (line: string) => void = () => {}): Promise<string> {
  const packaged = packagedAt();
  if (packaged !== undefined && packaged >= newestSource()) return PACKAGE_DIR;
  log(`packaging the functions (npx serverless package --stage ci --package ${PACKAGE_DIR}, a few minutes)…`);
  await execFileAsync('npx', ['serverless', 'package', '--stage', 'ci', '--package', PACKAGE_DIR], {
    cwd: ROOT,
    env: { ...process.env, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return PACKAGE_DIR;
}

/**
 * Unzips every function's zip into its own task root under `into`, as Lambda does into /var/task,
 * with node_modules/@aws-sdk beside it: the one thing the Node.js runtime provides and the
 * bundles leave out. Nothing else of this checkout's node_modules is reachable from a bundle.
 */
export async function unpackBundles(packageDir: string, into: string): Promise<Map<FunctionName, string>> {
  const roots = new Map<FunctionName, string>();
  for (const fn of FUNCTION_NAMES) {
    const taskRoot = join(into, fn);
    rmSync(taskRoot, { recursive: true, force: true });
    mkdirSync(join(taskRoot, 'node_modules'), { recursive: true });
    await execFileAsync('unzip', ['-q', join(packageDir, `${fn}.zip`), '-d', taskRoot]);
    symlinkSync(join(ROOT, 'node_modules', '@aws-sdk'), join(taskRoot, 'node_modules', '@aws-sdk'));
    roots.set(fn, taskRoot);
  }
  return roots;
}

/** The oldest zip's time, or undefined when one is missing. */
function packagedAt(): number | undefined {
  const zips = FUNCTION_NAMES.map((fn) => join(PACKAGE_DIR, `${fn}.zip`));
  const template = join(PACKAGE_DIR, 'cloudformation-template-update-stack.json');
  if (![...zips, template].every((file) => existsSync(file))) return undefined;
  return Math.min(...[...zips, template].map((file) => statSync(file).mtimeMs));
}

function newestSource(): number {
  return Math.max(...SOURCES.map((source) => newestUnder(join(ROOT, source))));
}

function newestUnder(path: string): number {
  if (NOT_BUNDLED.has(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newestUnder(join(path, entry))));
}
