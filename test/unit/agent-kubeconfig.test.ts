import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../../lib/errors.js';
import { loadApiserverAccess } from '../../lib/kube/kubeconfig-file.js';

/** The agent's own kubeconfig reading (it no longer carries the Kubernetes client's). */
describe('the agent’s kubeconfig (unit: files in a temporary directory)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'agent-kubeconfig-'));
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (name: string, document: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof document === 'string' ? document : stringify(document));
    return path;
  };

  const twoContexts = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'east',
    clusters: [
      {
        name: 'east',
        cluster: { server: 'https://east.example:6443', 'certificate-authority': 'certs/ca.crt' },
      },
      { name: 'west', cluster: { server: 'https://west.example:6443', 'insecure-skip-tls-verify': true } },
    ],
    users: [
      { name: 'cert', user: { 'client-certificate': 'certs/me.crt', 'client-key-data': 'a2V5' } },
      { name: 'bearer', user: { token: 'the-token' } },
    ],
    contexts: [
      { name: 'east', context: { cluster: 'east', user: 'cert' } },
      { name: 'west', context: { cluster: 'west', user: 'bearer' } },
    ],
  };

  it('uses the current context, with file paths relative to the kubeconfig’s own directory', async () => {
    mkdirSync(join(dir, 'certs'));
    writeFileSync(join(dir, 'certs', 'ca.crt'), 'CA');
    writeFileSync(join(dir, 'certs', 'me.crt'), 'CERT');
    const access = loadApiserverAccess({ file: write('config', twoContexts) });
    expect(access.name).toBe('east');
    expect(access.server.href).toBe('https://east.example:6443/');
    expect(access.tls.ca?.toString()).toBe('CA');
    expect(access.tls.cert?.toString()).toBe('CERT');
    expect(access.tls.key?.toString()).toBe('key');
    expect(access.tls.rejectUnauthorized).toBe(true);
    expect(access.token).toBeUndefined();
  });

  it('uses --context over the current one', async () => {
    const access = loadApiserverAccess({ file: write('config', twoContexts), context: 'west' });
    expect(access.server.host).toBe('west.example:6443');
    expect(access.tls.rejectUnauthorized).toBe(false);
    expect(await access.token?.()).toBe('the-token');
  });

  it('merges $KUBECONFIG’s files, the first to name an entry winning', async () => {
    const first = write('first', {
      clusters: [{ name: 'west', cluster: { server: 'https://first.example' } }],
      users: [],
      contexts: [],
    });
    const second = write('second', twoContexts);
    vi.stubEnv('KUBECONFIG', `${first}:${second}`);
    const access = loadApiserverAccess({ context: 'west' });
    expect(access.server.host).toBe('first.example');
  });

  it('reads a token file once a minute, not for every request (lib/kube/file-token.ts)', async () => {
    const tokenFile = write('token', 'one\n');
    const file = write('config', {
      'current-context': 'c',
      clusters: [{ name: 'c', cluster: { server: 'https://c.example' } }],
      users: [{ name: 'u', user: { tokenFile: 'token' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    });
    const access = loadApiserverAccess({ file });
    expect(await access.token?.()).toBe('one');
    writeFileSync(tokenFile, 'two\n');
    expect(await access.token?.()).toBe('one');
  });

  it('runs an exec plugin for its ExecCredential token, once while it is valid', async () => {
    const counter = join(dir, 'runs');
    const plugin = write(
      'plugin.sh',
      `#!/bin/sh\necho run >> ${counter}\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"'$TOKEN'","expirationTimestamp":"2999-01-01T00:00:00Z"}}'\n`,
    );
    chmodSync(plugin, 0o755);
    const file = write('config', {
      'current-context': 'c',
      clusters: [{ name: 'c', cluster: { server: 'https://c.example' } }],
      users: [
        {
          name: 'u',
          user: { exec: { command: './plugin.sh', env: [{ name: 'TOKEN', value: 'from-exec' }] } },
        },
      ],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    });
    const access = loadApiserverAccess({ file });
    expect(await access.token?.()).toBe('from-exec');
    expect(await access.token?.()).toBe('from-exec');
    expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it.each([
    [{ context: 'north' }, /--context: no context "north" in the kubeconfig \(its contexts: east, west\)/],
    [{ clusters: [{ name: 'east', cluster: { server: 'not a url' } }] }, /clusters\[0\]\.cluster\.server/],
    // Entries named as the file's own fields are: by list position, after the file.
    [
      { contexts: [{ name: 'east', context: { cluster: 'nowhere', user: 'cert' } }] },
      /\/config: contexts\[0\]\.context\.cluster: no cluster "nowhere"/,
    ],
    [{ 'current-context': undefined }, /no current context/],
    [
      {
        users: [
          { name: 'bearer', user: { token: 'the-token' } },
          { name: 'cert', user: { 'auth-provider': { name: 'gcp' } } },
        ],
      },
      /\/config: users\[1\]\.user\.auth-provider: not supported/,
    ],
  ])('rejects %j, naming what is wrong', (change, message) => {
    const { context, ...fields } = change as { context?: string } & Record<string, unknown>;
    const file = write('config', { ...twoContexts, ...fields });
    const load = () => loadApiserverAccess({ file, ...(context !== undefined && { context }) });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(message);
  });

  it('says so when the file cannot be read', () => {
    expect(() => loadApiserverAccess({ file: join(dir, 'missing') })).toThrow(
      /--kubeconfig: .* cannot be read/,
    );
  });
});
