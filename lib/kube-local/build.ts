import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { withLock } from '../local/dir-lock.js';

/**
 * kube-apiserver and etcd, built from their Go modules at pinned versions, once per machine,
 * into the user's cache directory (no Docker, no release downloads: only the Go module proxy).
 */
export const KUBERNETES_VERSION = '1.37.2';
export const ETCD_VERSION = '3.6.16';

export interface KubeBinaries {
  readonly kubeApiserver: string;
  readonly etcd: string;
}

export function kubeCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'lease-coordinator', 'kube', `v${KUBERNETES_VERSION}`);
}

/** Returns the cached binaries, building whichever is missing (a cold build takes minutes). */
export async function ensureKubeBinaries(
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<KubeBinaries> {
  const dir = kubeCacheDir();
  const bin = join(dir, 'bin');
  const binaries = { kubeApiserver: join(bin, 'kube-apiserver'), etcd: join(bin, 'etcd') };
  const stamp = join(bin, 'versions');
  const wanted = `kubernetes v${KUBERNETES_VERSION}\netcd v${ETCD_VERSION}\n`;
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return binaries;
  mkdirSync(bin, { recursive: true });
  await withLock(
    join(dir, '.build-lock'),
    async () => {
      if (existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return;
      await buildApiserver(join(dir, 'src', 'apiserver'), binaries.kubeApiserver, log);
      await buildEtcd(join(dir, 'src', 'etcd'), binaries.etcd, log);
      writeFileSync(stamp, wanted);
    },
    log,
  );
  return binaries;
}

function go(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // -mod=mod: the wrapper modules carry no vendor directory and may need go.sum entries added.
    const child = spawn('go', args, {
      cwd,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, GOFLAGS: '-mod=mod' },
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`go ${args.join(' ')} exited with ${code}`)),
    );
  });
}

/**
 * k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them inside its own
 * repository only; a consumer replaces each with the matching v0.37.x itself.
 */
async function buildApiserver(src: string, out: string, log: (line: string) => void): Promise<void> {
  log(
    `lease-coordinator: building kube-apiserver v${KUBERNETES_VERSION} from Go modules (once per machine)…`,
  );
  mkdirSync(src, { recursive: true });
  await go(['mod', 'download', `k8s.io/kubernetes@v${KUBERNETES_VERSION}`], src);
  const gomodcache = (await promisify(execFile)('go', ['env', 'GOMODCACHE'])).stdout.trim();
  const upstreamMod = readFileSync(
    join(gomodcache, 'cache', 'download', 'k8s.io', 'kubernetes', '@v', `v${KUBERNETES_VERSION}.mod`),
    'utf8',
  );
  const staging = [
    ...new Set([...upstreamMod.matchAll(/^\s+(k8s\.io\/[\w.-]+) v0\.0\.0$/gm)].map((m) => m[1] as string)),
  ].sort();
  const minor = KUBERNETES_VERSION.split('.')[1];
  writeFileSync(
    join(src, 'go.mod'),
    [
      'module lease-coordinator.dev/kube-apiserver-build',
      '',
      'go 1.26.0',
      '',
      `require k8s.io/kubernetes v${KUBERNETES_VERSION}`,
      '',
      'replace (',
      ...staging.map((m) => `\t${m} => ${m} v0.${minor}.${KUBERNETES_VERSION.split('.')[2]}`),
      ')',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(src, 'tools.go'),
    '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n',
  );
  await go(['mod', 'tidy'], src);
  const ldflags = [
    '-s -w',
    `-X k8s.io/component-base/version.gitVersion=v${KUBERNETES_VERSION}`,
    '-X k8s.io/component-base/version.gitMajor=1',
    `-X k8s.io/component-base/version.gitMinor=${minor}`,
  ].join(' ');
  await go(
    ['build', '-trimpath', '-ldflags', ldflags, '-o', out, 'k8s.io/kubernetes/cmd/kube-apiserver'],
    src,
  );
}

async function buildEtcd(src: string, out: string, log: (line: string) => void): Promise<void> {
  log(`lease-coordinator: building etcd v${ETCD_VERSION} from Go modules (once per machine)…`);
  mkdirSync(src, { recursive: true });
  writeFileSync(
    join(src, 'go.mod'),
    `module lease-coordinator.dev/etcd-build\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 v${ETCD_VERSION}\n`,
  );
  writeFileSync(
    join(src, 'tools.go'),
    '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n',
  );
  await go(['mod', 'tidy'], src);
  await go(['build', '-trimpath', '-ldflags', '-s -w', '-o', out, 'go.etcd.io/etcd/server/v3'], src);
}

if (import.meta.url === `file://${process.argv[1]}`)
  console.log(JSON.stringify(ensureKubeBinaries(), null, 2));

/**
 * The unmodified client-go candidate used by the compatibility tests (test/e2e/candidate), built
 * from its pinned go.mod into the same cache; rebuilt when its source changes.
 */
export async function ensureCandidateBinary(): Promise<string> {
  const src = fileURLToPath(new URL('../../test/e2e/candidate/', import.meta.url));
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'main.go']) hash.update(readFileSync(join(src, file)));
  const out = join(kubeCacheDir(), 'bin', `candidate-${hash.digest('hex').slice(0, 12)}`);
  if (existsSync(out)) return out;
  mkdirSync(dirname(out), { recursive: true });
  await go(['build', '-trimpath', '-o', out, '.'], src);
  return out;
}
