import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { formatPath } from '../api/issues.js';
import { ConfigError } from '../errors.js';
import type { ApiserverAccess } from './apiserver-access.js';
import { cachedFileToken } from './file-token.js';
import { inClusterAccess, kubeconfigFiles } from './in-cluster.js';

const execFileAsync = promisify(execFile);

/** An exec credential is asked again this long before it says it expires. */
const EXEC_EXPIRY_MARGIN_MS = 10_000;

const execConfig = z.object({
  command: z.string().min(1),
  args: z.array(z.string()).optional(),
  env: z.array(z.object({ name: z.string().min(1), value: z.string() })).nullish(),
});

/** A kubeconfig list, which kubectl writes as null when it is empty. */
const listOf = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .nullish()
    .transform((v) => v ?? []);

/** The part of a kubeconfig our apiserver client reads; anything else in it is left alone. */
const kubeconfigSchema = z.object({
  'current-context': z.string().optional(),
  clusters: listOf(
    z.object({
      name: z.string().min(1),
      cluster: z.object({
        server: z.url(),
        'certificate-authority': z.string().optional(),
        'certificate-authority-data': z.string().optional(),
        'insecure-skip-tls-verify': z.boolean().optional(),
        'tls-server-name': z.string().optional(),
      }),
    }),
  ),
  users: listOf(
    z.object({
      name: z.string().min(1),
      user: z.object({
        'client-certificate': z.string().optional(),
        'client-certificate-data': z.string().optional(),
        'client-key': z.string().optional(),
        'client-key-data': z.string().optional(),
        token: z.string().optional(),
        tokenFile: z.string().optional(),
        exec: execConfig.optional(),
        'auth-provider': z.unknown().optional(),
      }),
    }),
  ),
  contexts: listOf(
    z.object({
      name: z.string().min(1),
      context: z.object({ cluster: z.string().min(1), user: z.string().optional() }),
    }),
  ),
});

type Kubeconfig = z.output<typeof kubeconfigSchema>;
type ClusterEntry = Kubeconfig['clusters'][number]['cluster'];
type UserEntry = Kubeconfig['users'][number]['user'];

/**
 * A kubeconfig's entries, each with the directory its relative paths are relative to and where it
 * is (`at`: its file and list position, `FILE: users[1]`), which errors about it name.
 */
interface Loaded {
  currentContext?: string;
  readonly clusters: Map<string, { entry: ClusterEntry; dir: string }>;
  readonly users: Map<string, { entry: UserEntry; dir: string; at: string }>;
  readonly contexts: Map<string, { cluster: string; user?: string; at: string }>;
}

/**
 * The apiserver to talk to, as kubectl would pick it: `file` (the agent's --kubeconfig, a cluster's
 * `kubeconfig.path` in the coordinator's clusters config), else
 * $KUBECONFIG (its files merged, the first to name an entry winning), else ~/.kube/config, else
 * the pod's service account. `context` picks a context other than the current one. Credentials:
 * a client certificate, a token, a token file, or an exec plugin that prints an ExecCredential
 * token (as `aws eks get-token` does).
 */
export function loadApiserverAccess(options: {
  file?: string;
  context?: string;
  /** How errors name the file and the context: the agent's flags by default. */
  fields?: { readonly file: string; readonly context: string };
}): ApiserverAccess {
  const fields = options.fields ?? { file: '--kubeconfig', context: '--context' };
  const files = kubeconfigFiles(options.file);
  const source = options.file !== undefined ? fields.file : 'the default kubeconfig';
  if (files.length === 0) {
    if (options.context !== undefined)
      throw new ConfigError(`${fields.context}: no kubeconfig to find context "${options.context}" in`);
    const inCluster = inClusterAccess();
    if (inCluster === undefined)
      throw new ConfigError(`${fields.file}: no cluster to talk to (no kubeconfig, and not in a pod)`);
    return inCluster;
  }
  const loaded = mergeKubeconfigs(files, source);
  const contextName = options.context ?? loaded.currentContext;
  if (contextName === undefined)
    throw new ConfigError(`${source}: no cluster to talk to (no current context, and no ${fields.context})`);
  const context = loaded.contexts.get(contextName);
  if (context === undefined) {
    // A mistyped context is the likeliest cause: the names to pick from are the fix.
    const known = `(its contexts: ${[...loaded.contexts.keys()].join(', ') || 'none'})`;
    throw new ConfigError(
      options.context !== undefined
        ? `${fields.context}: no context "${contextName}" in the kubeconfig ${known}`
        : `${source}: current-context: no context "${contextName}" ${known}`,
    );
  }
  const cluster = loaded.clusters.get(context.cluster);
  if (cluster === undefined)
    throw new ConfigError(`${source}: ${context.at}.context.cluster: no cluster "${context.cluster}"`);
  const user = context.user === undefined ? undefined : loaded.users.get(context.user);
  if (context.user !== undefined && user === undefined)
    throw new ConfigError(`${source}: ${context.at}.context.user: no user "${context.user}"`);
  return accessOf(contextName, cluster, user, source);
}

function mergeKubeconfigs(files: readonly string[], source: string): Loaded {
  const loaded: Loaded = { clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const file of files) {
    const config = readKubeconfig(file, source);
    const dir = dirname(resolve(file));
    loaded.currentContext ??= config['current-context'] || undefined;
    for (const { name, cluster } of config.clusters)
      if (!loaded.clusters.has(name)) loaded.clusters.set(name, { entry: cluster, dir });
    const at = (list: string, index: number) => `${file}: ${formatPath([list, index])}`;
    config.users.forEach(({ name, user }, i) => {
      if (!loaded.users.has(name)) loaded.users.set(name, { entry: user, dir, at: at('users', i) });
    });
    config.contexts.forEach(({ name, context }, i) => {
      if (!loaded.contexts.has(name)) loaded.contexts.set(name, { ...context, at: at('contexts', i) });
    });
  }
  return loaded;
}

function readKubeconfig(file: string, source: string): Kubeconfig {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${source}: ${file} cannot be read: ${(error as Error).message}`);
  }
  const result = kubeconfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(`${source}: ${file}: ${formatPath(issue?.path ?? [])}: ${issue?.message}`);
  }
  return result.data;
}

function accessOf(
  name: string,
  cluster: { entry: ClusterEntry; dir: string },
  user: { entry: UserEntry; dir: string; at: string } | undefined,
  source: string,
): ApiserverAccess {
  const c = cluster.entry;
  const u = user?.entry ?? {};
  const field = (f: string) => `${source}: ${user?.at}.user.${f}`;
  if (u['auth-provider'] !== undefined && u.token === undefined && u.exec === undefined)
    throw new ConfigError(
      `${field('auth-provider')}: not supported; use a token, a client certificate or exec`,
    );
  const fromFile = (path: string | undefined, dir: string) =>
    path === undefined ? undefined : readFileSync(isAbsolute(path) ? path : join(dir, path));
  const fromData = (data: string | undefined) =>
    data === undefined ? undefined : Buffer.from(data, 'base64');
  const userDir = user?.dir ?? cluster.dir;
  const ca = fromData(c['certificate-authority-data']) ?? fromFile(c['certificate-authority'], cluster.dir);
  const cert = fromData(u['client-certificate-data']) ?? fromFile(u['client-certificate'], userDir);
  const key = fromData(u['client-key-data']) ?? fromFile(u['client-key'], userDir);
  const token = tokenSource(u, userDir, field);
  return {
    name,
    server: new URL(c.server),
    tls: {
      ...(ca !== undefined && { ca }),
      ...(cert !== undefined && { cert }),
      ...(key !== undefined && { key }),
      rejectUnauthorized: c['insecure-skip-tls-verify'] !== true,
      ...(c['tls-server-name'] !== undefined && { servername: c['tls-server-name'] }),
    },
    ...(token !== undefined && { token }),
  };
}

function tokenSource(
  user: UserEntry,
  dir: string,
  field: (f: string) => string,
): (() => Promise<string>) | undefined {
  const { token, tokenFile, exec } = user;
  if (token !== undefined) return async () => token;
  if (tokenFile !== undefined) {
    const path = isAbsolute(tokenFile) ? tokenFile : join(dir, tokenFile);
    return cachedFileToken(path, field('tokenFile'));
  }
  if (exec !== undefined) return execCredential(exec, dir, field('exec'));
  return undefined;
}

const execCredentialSchema = z.object({
  status: z.object({ token: z.string().min(1), expirationTimestamp: z.string().optional() }),
});

/** An exec plugin's token, kept until shortly before it says it expires. */
function execCredential(
  exec: z.output<typeof execConfig>,
  dir: string,
  field: string,
): () => Promise<string> {
  let cached: { token: string; until: number } | undefined;
  const command =
    exec.command.includes('/') && !isAbsolute(exec.command) ? join(dir, exec.command) : exec.command;
  return async () => {
    if (cached !== undefined && Date.now() < cached.until) return cached.token;
    let out: string;
    try {
      ({ stdout: out } = await execFileAsync(command, exec.args ?? [], {
        env: { ...process.env, ...Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value])) },
      }));
    } catch (error) {
      throw new ConfigError(`${field}: ${exec.command} failed: ${(error as Error).message}`);
    }
    const parsed = execCredentialSchema.safeParse(JSON.parse(out));
    if (!parsed.success)
      throw new ConfigError(`${field}: ${exec.command} printed no ExecCredential with status.token`);
    const expires = parsed.data.status.expirationTimestamp;
    const until =
      expires === undefined ? Number.POSITIVE_INFINITY : Date.parse(expires) - EXEC_EXPIRY_MARGIN_MS;
    cached = { token: parsed.data.status.token, until };
    return cached.token;
  };
}
