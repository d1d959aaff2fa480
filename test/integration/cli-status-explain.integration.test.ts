import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explain, renderExplanation } from '../../lib/cli/explain-command.js';
import { readStatuses, renderStatuses } from '../../lib/cli/status-command.js';
import { openTable, type TableAccess } from '../../lib/cli/table-access.js';
import { ConfigError } from '../../lib/errors.js';
import { finished, startCli } from '../helpers/cli-process.js';
import { candidate, startTestStack, type TestStack } from '../helpers/local-stack.js';

const SCHEDULER = { namespace: 'kube-system', name: 'kube-scheduler' };

const cli = (args: readonly string[], env?: NodeJS.ProcessEnv) => finished(startCli(args, env));

/** Resolves with everything printed so far once the output matches. */
function printed(child: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<string> {
  let seen = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      if (pattern.test(seen)) resolve(seen);
    });
    child.on('close', (code) => reject(new Error(`exited ${code} before printing ${pattern}: ${seen}`)));
    // Not a wait for time to pass: a bound on a wait that failed, so the failure shows what was printed.
    setTimeout(
      () => reject(new Error(`not printed within 30 s: ${pattern}; printed: ${seen}`)),
      30_000,
    ).unref();
  });
}

describe('cli status and explain (integration: DynamoDB Local, a known state)', () => {
  let stack: TestStack;
  let access: TableAccess;
  let endpoint: string;
  let decidedAt: number;

  beforeAll(async () => {
    stack = await startTestStack();
    endpoint = stack.dynamodb.endpoint;
    access = openTable({ endpoint, table: stack.tableName });
    // The README's worked example, and a second lease in another cluster with one candidate.
    const now = stack.clock.now;
    for (const [cluster, name, emulation, lease] of [
      ['alpha', 'sched-a', '1.34.0', 'kube-scheduler'],
      ['alpha', 'sched-b', '1.33.0', 'kube-scheduler'],
      ['beta', 'kcm-a', '1.34.0', 'kube-controller-manager'],
    ] as const) {
      const posted = await stack.post(
        `/clusters/${cluster}/leasecandidates`,
        candidate(name, { binary: '1.34.0', emulation }, now, { leaseName: lease }),
      );
      expect(posted.status).toBe(201);
    }
    await stack.streams.drain();
    decidedAt = now;
  });
  afterAll(async () => {
    access?.close();
    await stack?.stop();
  });

  it('status lists every lease with holder, term, expiry, candidates and last decision', async () => {
    const now = decidedAt + 2_000;
    const statuses = await readStatuses(access, now);
    expect(renderStatuses(statuses, 'table', now)).toBe(
      [
        'SCOPE   NAMESPACE     NAME                      HOLDER    CLUSTER   TERM   EXPIRES   PREFERRED   LIVE   STALE   PINGED   LAST DECISION',
        'alpha   kube-system   kube-scheduler            sched-b   alpha     1      3s        <none>      2      0       0        2s ago: Elected sched-b (term 1): lowest emulation version 1.33.0 of 2 candidates',
        'beta    kube-system   kube-controller-manager   kcm-a     beta      1      3s        <none>      1      0       0        2s ago: Elected kcm-a (term 1): the only live candidate',
      ].join('\n'),
    );
    const json = JSON.parse(renderStatuses(statuses, 'json', now));
    expect(json.kind).toBe('LeaseStatusList');
    expect(json.items[0]).toEqual({
      scope: 'alpha',
      namespace: 'kube-system',
      name: 'kube-scheduler',
      holder: 'sched-b',
      holderCluster: 'alpha',
      term: 1,
      expiresInSeconds: 3,
      candidates: { live: 2, stale: 0, pinged: 0 },
      lastDecision: {
        at: new Date(decidedAt).toISOString(),
        message: 'Elected sched-b (term 1): lowest emulation version 1.33.0 of 2 candidates',
      },
    });
  });

  it('explain ranks the candidates with the reason for each rank, says what it waits for, and shows the history', async () => {
    const now = decidedAt + 2_000;
    const explained = await explain(access, SCHEDULER, undefined, now);
    expect(explained.ranking.ranked.map((c) => [c.rank, c.name, c.standing, c.reason])).toEqual([
      [1, 'sched-b', 'live', 'best: lowest emulation version 1.33.0 (next 1.34.0)'],
      [2, 'sched-a', 'live', 'after sched-b: emulation version 1.34.0 above 1.33.0'],
    ]);
    const runsOut = new Date(decidedAt + 5_000).toISOString();
    expect(explained.next.summary).toMatch(
      new RegExp(`^waits for sched-b to renew before its lease runs out at ${runsOut}; next look at `),
    );
    expect(explained.history.map((r) => [r.action, r.term, r.holder])).toEqual([['create', 1, 'sched-b']]);
    const text = renderExplanation(explained, 'table', now);
    expect(text).toContain('Holder:             sched-b (cluster alpha)');
    expect(text).toContain(
      '  1      sched-b   alpha     1.33.0      1.34.0   2s    live       best: lowest emulation version 1.33.0 (next 1.34.0)',
    );
    expect(text).toContain(
      '  2s    create   1      sched-b   Elected sched-b (term 1): lowest emulation version 1.33.0 of 2 candidates',
    );
    // What the coordinator would decide now is what it decided: the explanation's best is the holder.
    expect(explained.lease.holder).toBe(explained.ranking.ranked[0]?.name);
  });

  it('explain names an unknown lease, in any scope or in the one given', async () => {
    await expect(
      explain(access, { namespace: 'kube-system', name: 'nope' }, undefined, decidedAt),
    ).rejects.toThrow(
      new ConfigError(
        `unknown lease kube-system/nope: not in table ${stack.tableName} at ${endpoint} (status lists every lease)`,
      ),
    );
    await expect(explain(access, SCHEDULER, 'beta', decidedAt)).rejects.toThrow(
      /^unknown lease kube-system\/kube-scheduler in scope beta/,
    );
  });

  it('runs as a command line: status -o json, explain -o yaml, and status --watch printing a change', async () => {
    // As a user's shell runs it: nothing set that would quiet the AWS SDK's Node-version notice.
    const status = await cli(['status', '--endpoint', endpoint, '-o', 'json'], {
      ...process.env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
    });
    expect(status.code, status.stderr).toBe(0);
    // A normal run says nothing on stderr (on Node 20, the SDK would print its notice on every command).
    expect(status.stderr).toBe('');
    expect(JSON.parse(status.stdout).items.map((i: { name: string }) => i.name)).toEqual([
      'kube-scheduler',
      'kube-controller-manager',
    ]);
    const explained = await cli([
      'explain',
      'kube-system/kube-scheduler',
      '--endpoint',
      endpoint,
      '--scope',
      'alpha',
      '-o',
      'yaml',
    ]);
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stdout).toMatch(/^lease:\n {2}scope: alpha\n/);

    const watch = startCli(['status', '--watch', '--endpoint', endpoint]);
    const done = finished(watch);
    await printed(watch, /kube-controller-manager.*\n/);
    // A better candidate arrives: the holder is asked to yield, and the watch prints that row again.
    const posted = await stack.post(
      '/clusters/alpha/leasecandidates',
      candidate('sched-c', { binary: '1.34.0', emulation: '1.32.0' }, stack.clock.now),
    );
    expect(posted.status).toBe(201);
    await stack.streams.drain();
    await printed(watch, /^alpha +kube-system +kube-scheduler +sched-b +alpha +1 .* sched-c .*\n/m);
    watch.kill('SIGINT');
    const { code, stdout } = await done;
    expect(code).toBe(0);
    // kubectl's way: the header once, then only the rows that changed.
    expect(stdout.match(/^SCOPE/gm)).toHaveLength(1);
    expect(stdout.match(/^beta /gm)).toHaveLength(1);
  });

  it('exits 2 naming what is wrong: bad flags, unknown lease, table not found, no DynamoDB, no credentials', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cli-no-aws-'));
    try {
      const noCredentials = {
        PATH: process.env.PATH,
        HOME: home,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONFIG_FILE: join(home, 'config'),
        AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
      };
      // The heartbeat API, the other URL npm start prints: HTTP, but not DynamoDB.
      const notDynamo = stack.url;
      const cases: [string[], RegExp, NodeJS.ProcessEnv?][] = [
        [
          ['status', '--endpoint', endpoint, '-o', 'wide'],
          /argument 'wide' is invalid. Allowed choices are table, json, yaml/,
        ],
        [['status', '--endpoint', 'not a url'], /--endpoint must be a URL such as http:\/\/127.0.0.1:8000/],
        [['status', '--table', 'x'], /--table must be 3 to 255 characters/],
        [['status', '--region', 'Europe'], /--region must be an AWS region such as eu-west-1/],
        [['status'], /--table is required without --endpoint/],
        [
          ['explain', 'kube-scheduler', '--endpoint', endpoint],
          /lease "kube-scheduler" must be NAMESPACE\/NAME/,
        ],
        [
          ['explain', 'kube-system/Bad_Name', '--endpoint', endpoint],
          /lease "kube-system\/Bad_Name": name "Bad_Name" must be/,
        ],
        [['explain', 'kube-system/nope', '--endpoint', endpoint], /unknown lease kube-system\/nope/],
        [
          ['status', '--endpoint', endpoint, '--table', 'no-such-table'],
          /table no-such-table at http:.*: no such table/,
        ],
        [
          ['status', '--endpoint', 'http://127.0.0.1:9'],
          /cannot reach DynamoDB at http:\/\/127.0.0.1:9 \(ECONNREFUSED\): is npm start running/,
        ],
        [
          ['status', '--endpoint', notDynamo],
          /at http:\/\/127\.0\.0\.1:\d+: the endpoint answered HTTP 404 Not Found, not as DynamoDB does: --endpoint takes the DynamoDB Local URL/,
        ],
        [
          ['status', '--table', 'lease-coordinator-prod', '--region', 'eu-west-1'],
          /no AWS credentials/,
          noCredentials,
        ],
      ];
      for (const [args, message, env] of cases) {
        const run = await cli(args, env);
        expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
        expect(run.stderr, args.join(' ')).toMatch(message);
        expect(run.stdout, args.join(' ')).toBe('');
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 120_000);
});
