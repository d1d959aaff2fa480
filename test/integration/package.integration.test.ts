import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../lib/local/dynamodb-local.js';
import { serveSsmParameters } from '../../lib/local/packaged/ssm-parameters.js';
import { createTable } from '../../lib/local/table.js';
import { METRIC_NAMES, METRIC_NAMESPACE } from '../../lib/ports/metrics.js';
import { ensureCfnLint } from '../../scripts/ensure-cfn-lint.mjs';
import { candidate } from '../helpers/local-stack.js';

const execFileAsync = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;

const FUNCTIONS = ['heartbeat', 'leases', 'elect', 'requeue', 'sweep', 'ingest', 'mirror'];

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = { Action: string | string[]; Resource: unknown };

/** The environment of a machine with no AWS credentials at all. */
function credentialFreeEnv(home: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_')));
  return {
    ...env,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    HOME: home,
    npm_config_cache: join(process.env.HOME ?? home, '.npm'),
  };
}

describe('serverless package (integration: osls offline, no credentials, cfn-lint)', () => {
  const out = mkdtempSync(join(tmpdir(), 'lease-coordinator-package-'));
  let template: { Resources: Record<string, Resource> };
  let resources: [string, Resource][];

  beforeAll(async () => {
    await execFileAsync('npx', ['serverless', 'package', '--stage', 'ci', '--package', out], {
      cwd: root,
      env: credentialFreeEnv(mkdtempSync(join(tmpdir(), 'lease-coordinator-home-'))),
    });
    template = JSON.parse(readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8'));
    resources = Object.entries(template.Resources);
  }, 240_000);

  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);

  it('packages every function as its own zip', () => {
    for (const fn of FUNCTIONS) {
      expect(existsSync(join(out, `${fn}.zip`)), `${fn}.zip`).toBe(true);
    }
  });

  describe('the bundles (unzipped as Lambda unpacks them)', () => {
    /** Bound on the HTTP functions' bundles: the Kubernetes client alone is over 500 KB minified. */
    const HTTP_BUNDLE_MAX_BYTES = 500 * 1024;
    const KUBE_CLIENT = 'node_modules/@kubernetes/client-node/';
    const unzipped = join(out, 'unzipped');
    const bundle = (fn: string) => join(unzipped, fn, 'functions', `${fn}.mjs`);
    /** Every input esbuild put in a bundle, as its linked source map lists them. */
    const sources = (fn: string) =>
      (JSON.parse(readFileSync(`${bundle(fn)}.map`, 'utf8')) as { sources: string[] }).sources;

    beforeAll(async () => {
      for (const fn of FUNCTIONS)
        await execFileAsync('python3', ['-m', 'zipfile', '-e', join(out, `${fn}.zip`), join(unzipped, fn)]);
    }, 60_000);

    it.each(['heartbeat', 'leases'])(
      'builds %s without the Kubernetes client, the cluster wiring or the timer queue, under 500 KB',
      (fn) => {
        const inputs = sources(fn);
        expect(inputs.filter((s) => s.includes(KUBE_CLIENT))).toEqual([]);
        expect(
          inputs.filter((s) => /lib\/(kube|sync)\/|registry\.ts|cluster-deps\.ts|runtime\/deps\.ts/.test(s)),
        ).toEqual([]);
        expect(readFileSync(bundle(fn), 'utf8')).not.toContain('@aws-sdk/client-sqs');
        expect(statSync(bundle(fn)).size).toBeLessThan(HTTP_BUNDLE_MAX_BYTES);
      },
    );

    it.each(['elect', 'requeue', 'sweep', 'ingest', 'mirror'])(
      'builds %s with our apiserver client, which reaches clusters, and not the Kubernetes client',
      (fn) => {
        // Their few Lease and LeaseCandidate calls go over node:http(s) (lib/kube/apiserver.ts): the
        // Kubernetes client was two thirds of these bundles and a third of a cold requeue's CPU.
        const inputs = sources(fn);
        expect(inputs.some((s) => s.endsWith('lib/kube/apiserver.ts'))).toBe(true);
        expect(inputs.filter((s) => s.includes(KUBE_CLIENT))).toEqual([]);
      },
    );

    it.each(FUNCTIONS)('minifies %s and links its source map, which the zip carries', (fn) => {
      const code = readFileSync(bundle(fn), 'utf8');
      // Unminified, a bundle has a line per statement (the heartbeat's had 93,000).
      expect(code.split('\n').length).toBeLessThan(1_000);
      expect(code.trimEnd().endsWith(`//# sourceMappingURL=${fn}.mjs.map`)).toBe(true);
      expect(sources(fn).some((s) => s.endsWith(`functions/${fn}.ts`))).toBe(true);
      // Errors name themselves after their class (lib/errors.ts): minifying keeps class names.
      expect(code).toContain('"CoordinatorError"');
    });
  });

  it('runs every function with source-mapped stack traces (NODE_OPTIONS=--enable-source-maps)', () => {
    for (const [name, fn] of ofType('AWS::Lambda::Function')) {
      const environment = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(environment.NODE_OPTIONS, name).toBe('--enable-source-maps');
    }
  });

  it('runs every function on nodejs22.x, arm64, with a role of its own', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions).toHaveLength(FUNCTIONS.length);
    const roles = functions.map(([, f]) => JSON.stringify(f.Properties.Role));
    for (const [, f] of functions) {
      expect(f.Properties.Runtime).toBe('nodejs22.x');
      expect(f.Properties.Architectures).toEqual(['arm64']);
    }
    expect(new Set(roles).size).toBe(FUNCTIONS.length);
  });

  it('grants DynamoDB and SQS actions on named resources only', () => {
    for (const [name, role] of ofType('AWS::IAM::Role')) {
      const policies = (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[];
      for (const statement of policies.flatMap((p) => p.PolicyDocument.Statement)) {
        const actions = [statement.Action].flat();
        if (actions.some((a) => a.startsWith('dynamodb:') || a.startsWith('sqs:'))) {
          expect(statement.Resource, `${name}: ${actions.join(',')}`).not.toBe('*');
        }
        expect(
          actions.some((a) => a.endsWith(':*')),
          `${name}: wildcard action`,
        ).toBe(false);
      }
    }
  });

  it('lets requeue alone change a timer message’s visibility (its back-off), on the timer queue only', () => {
    const granted = ofType('AWS::IAM::Role').flatMap(([name, role]) => {
      const policies = (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[];
      return policies
        .flatMap((p) => p.PolicyDocument.Statement)
        .filter((statement) =>
          [statement.Action].flat().some((a) => a.startsWith('sqs:ChangeMessageVisibility')),
        )
        .map((statement) => ({ name, resource: statement.Resource }));
    });
    expect(granted).toEqual([{ name: 'RequeueRole', resource: { 'Fn::GetAtt': ['TimerQueue', 'Arn'] } }]);
  });

  it('creates the table with a new-and-old-image stream, point-in-time recovery and TTL', () => {
    const [[, table]] = ofType('AWS::DynamoDB::Table') as [[string, Resource]];
    expect(table.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  it.each(['elect', 'mirror'] as const)(
    'feeds %s from the stream with the shared filters, bisect, bounded retries and an SQS on-failure destination',
    (fn) => {
      const mappings = ofType('AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties);
      const functionId = `${fn[0]?.toUpperCase()}${fn.slice(1)}LambdaFunction`;
      const stream = mappings.find(
        (m) =>
          JSON.stringify(m.EventSourceArn).includes('StreamArn') &&
          JSON.stringify(m.FunctionName).includes(functionId),
      );
      expect(stream).toBeDefined();
      const filters = JSON.parse(readFileSync(join(root, 'infra/stream-filters.json'), 'utf8')) as Record<
        string,
        unknown[]
      >;
      const patterns = (stream?.FilterCriteria as { Filters: { Pattern: string }[] }).Filters.map((f) =>
        JSON.parse(f.Pattern),
      );
      expect(patterns).toEqual(filters[fn]);
      expect(stream?.BisectBatchOnFunctionError).toBe(true);
      expect(stream?.MaximumRetryAttempts).toBeGreaterThan(0);
      expect(stream?.MaximumRetryAttempts).toBeLessThanOrEqual(10);
      expect(stream?.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      const destination = JSON.stringify((stream?.DestinationConfig as { OnFailure: unknown }).OnFailure);
      const queue = destination.match(/"(\w+)","Arn"/)?.[1];
      expect(template.Resources[queue ?? '']?.Type).toBe('AWS::SQS::Queue');
    },
  );

  it('feeds requeue from the timer queue, at most two batches at once, and runs sweep and ingest every minute', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties);
    const timers = mappings.find((m) => JSON.stringify(m.EventSourceArn).includes('TimerQueue'));
    // A burst of deadlines waits for two warm containers rather than starting a cold one each (docs/deploy.md).
    expect(timers?.ScalingConfig).toEqual({ MaximumConcurrency: 2 });
    const rules = ofType('AWS::Events::Rule').map(([, r]) => r.Properties.ScheduleExpression);
    expect(rules.filter((r) => r === 'rate(1 minute)')).toHaveLength(2);
  });

  it('runs one sweep at a time, dropping a tick that finds one running, with no reserved concurrency', () => {
    // Reserved concurrency is refused on accounts whose concurrency quota is 10; a lock item does it.
    for (const [name, fn] of ofType('AWS::Lambda::Function')) {
      expect(fn.Properties.ReservedConcurrentExecutions, name).toBeUndefined();
    }
    const config = ofType('AWS::Lambda::EventInvokeConfig').find(([name]) => name.startsWith('Sweep'))?.[1];
    expect(config?.Properties).toMatchObject({ MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 });
  });

  it('gives every HTTP route a twin under /iam/ with the IAM authorizer, and the plain routes none', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => ({
      key: String(r.Properties.RouteKey),
      auth: r.Properties.AuthorizationType ?? 'NONE',
    }));
    const plain = routes.filter((r) => !r.key.includes(' /iam/'));
    const iam = routes.filter((r) => r.key.includes(' /iam/'));
    expect(plain.map((r) => r.key).sort()).toEqual([
      'DELETE /clusters/{cluster}/namespaces/{namespace}/leases/{name}/holder/{identity}',
      'GET /clusters/{cluster}/namespaces/{namespace}/leases/{name}',
      'POST /clusters/{cluster}/leasecandidates',
      'PUT /clusters/{cluster}/namespaces/{namespace}/leases/{name}/holder/{identity}',
    ]);
    expect(plain.every((r) => r.auth === 'NONE')).toBe(true);
    expect(iam.map((r) => r.key.replace(' /iam/', ' /')).sort()).toEqual(plain.map((r) => r.key).sort());
    expect(iam.every((r) => r.auth === 'AWS_IAM')).toBe(true);
  });

  describe('the packaged heartbeat and leases bundles (HTTP API v2.0 events, DynamoDB Local, offline)', () => {
    const TABLE = 'lease-coordinator-ci';
    const PARAMETER = '/lease-coordinator/clusters';
    const TOKEN = 'alpha-secret-token';
    const ACCOUNT = '111122223333';
    const ROLE_SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/scheduler-candidates/i-0abc123`;
    const STRANGER_SESSION = `arn:aws:sts::444455556666:assumed-role/scheduler-candidates/i-0abc123`;
    const CLUSTERS_CONFIG = [
      'clusters:',
      '  - name: alpha',
      '    httpCallers:',
      `      tokenSha256: [${createHash('sha256').update(TOKEN).digest('hex')}]`,
      `      iamPrincipalArns: ["arn:aws:iam::${ACCOUNT}:role/platform/scheduler-candidates"]`,
      '  - name: beta',
      '    httpCallers:',
      `      tokenSha256: [${createHash('sha256').update('beta-token').digest('hex')}]`,
    ].join('\n');
    const LEASE = '/clusters/alpha/namespaces/kube-system/leases/kube-scheduler';
    const LEASE_ROUTE = '/clusters/{cluster}/namespaces/{namespace}/leases/{name}';
    const run = join(out, 'run');
    let dynamodb: DynamoDbLocal;
    let ssm: Awaited<ReturnType<typeof serveSsmParameters>>;

    beforeAll(async () => {
      mkdirSync(run);
      // The Lambda runtime provides the AWS SDK beside the bundle; here, this checkout's node_modules.
      symlinkSync(join(root, 'node_modules'), join(run, 'node_modules'));
      for (const fn of ['heartbeat', 'leases']) {
        await execFileAsync('python3', ['-m', 'zipfile', '-e', join(out, `${fn}.zip`), join(run, fn)]);
      }
      [dynamodb, ssm] = await Promise.all([
        startDynamoDbLocal(),
        serveSsmParameters({ [PARAMETER]: CLUSTERS_CONFIG }),
      ]);
      await createTable(dynamodb.client, TABLE);
    }, 120_000);
    afterAll(async () => {
      await Promise.all([dynamodb?.stop(), ssm?.close()]);
    });

    /** One cold container of a packaged function, given these events one after another. */
    async function invoke(
      fn: 'heartbeat' | 'leases',
      clustersConfig: string | undefined,
      events: APIGatewayProxyEventV2[],
      tableEndpoint = dynamodb.endpoint,
    ): Promise<APIGatewayProxyStructuredResultV2[]> {
      const dir = mkdtempSync(join(run, 'invoke-'));
      writeFileSync(join(dir, 'events.json'), JSON.stringify(events));
      await execFileAsync(
        process.execPath,
        [
          join(root, 'test/helpers/invoke-bundle.mjs'),
          join(run, fn, 'functions', `${fn}.mjs`),
          join(dir, 'events.json'),
          join(dir, 'results.json'),
        ],
        {
          env: {
            PATH: process.env.PATH,
            // As serverless.yml sets them; the parameter is "" when deployed without one.
            TABLE_NAME: TABLE,
            TIMER_QUEUE_URL: `https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/timers`,
            CLUSTERS_CONFIG_PARAMETER: clustersConfig ?? '',
            POWERTOOLS_LOG_LEVEL: 'WARN',
            NODE_OPTIONS: '--enable-source-maps',
            AWS_REGION: 'us-east-1',
            AWS_ACCESS_KEY_ID: 'offline',
            AWS_SECRET_ACCESS_KEY: 'offline',
            DYNAMODB_ENDPOINT: tableEndpoint,
            AWS_ENDPOINT_URL_SSM: ssm.url,
          },
        },
      );
      const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as {
        result?: APIGatewayProxyStructuredResultV2;
        error?: string;
      }[];
      return results.map((r) => {
        if (r.result === undefined) throw new Error(`${fn} threw: ${r.error}`);
        return r.result;
      });
    }

    const tableItems = async () =>
      (await dynamodb.client.send(new ScanCommand({ TableName: TABLE, ConsistentRead: true }))).Items ?? [];

    it('without callers configured (the README deploy command) answers every request 401 and stores nothing', async () => {
      const credentials = [{}, { token: TOKEN }, { signer: ROLE_SESSION }];
      const heartbeats = credentials.map((c) => heartbeat('sched-a', c));
      const leaseCalls = credentials.flatMap((c) => [
        httpEvent('GET', LEASE, LEASE_ROUTE, c),
        httpEvent('PUT', `${LEASE}/holder/sched-a`, `${LEASE_ROUTE}/holder/{identity}`, c, {
          leaseDurationSeconds: 15,
        }),
        httpEvent('DELETE', `${LEASE}/holder/sched-a`, `${LEASE_ROUTE}/holder/{identity}`, c),
      ]);
      const answers = [
        ...(await invoke('heartbeat', undefined, heartbeats)),
        ...(await invoke('leases', undefined, leaseCalls)),
      ];
      expect(answers.map((a) => a.statusCode)).toEqual(answers.map(() => 401));
      expect(await tableItems()).toEqual([]);
    });

    it('with callers configured: 401 without a credential, 403 for a wrong token or signer, nothing stored; the right token and a session of the listed role are served', async () => {
      const rejected = await invoke('heartbeat', PARAMETER, [
        heartbeat('sched-a', {}),
        heartbeat('sched-a', { token: 'not-the-token' }),
        heartbeat('sched-a', { signer: STRANGER_SESSION }),
        heartbeat('sched-a', { signer: `arn:aws:iam::${ACCOUNT}:role/platform/scheduler-candidates` }),
        heartbeat('sched-a', { token: 'beta-token' }),
      ]);
      expect(rejected.map((a) => a.statusCode)).toEqual([401, 403, 403, 403, 403]);
      expect(await tableItems()).toEqual([]);
      const accepted = await invoke('heartbeat', PARAMETER, [
        heartbeat('sched-a', { token: TOKEN }),
        heartbeat('sched-b', { signer: ROLE_SESSION }),
      ]);
      expect(accepted.map((a) => a.statusCode)).toEqual([201, 201]);
      const stored = (await tableItems()).map((item) => item.sk?.S).sort();
      expect(stored).toEqual(['CANDIDATE#alpha#sched-a', 'CANDIDATE#alpha#sched-b']);

      const leases = await invoke('leases', PARAMETER, [
        httpEvent(
          'PUT',
          `${LEASE}/holder/sched-a`,
          `${LEASE_ROUTE}/holder/{identity}`,
          {},
          {
            leaseDurationSeconds: 15,
          },
        ),
        httpEvent('DELETE', `${LEASE}/holder/sched-a`, `${LEASE_ROUTE}/holder/{identity}`, {
          signer: STRANGER_SESSION,
        }),
        // No decision yet (nothing runs elect here): a served read answers 404.
        httpEvent('GET', LEASE, LEASE_ROUTE, { signer: ROLE_SESSION }),
        httpEvent('GET', LEASE, LEASE_ROUTE, { token: TOKEN }),
      ]);
      expect(leases.map((a) => a.statusCode)).toEqual([401, 403, 404, 404]);
      // The callers came from the clusters config in SSM, as deployed.
      expect(ssm.requests).toContain(`AmazonSSM.GetParameter ${PARAMETER}`);
      expect((await tableItems()).map((item) => item.sk?.S).sort()).toEqual(stored);
    });

    it('answers 503 when the table accepts connections and never answers: each attempt gives up after seconds and the call is sent again on a new connection, four attempts in all, instead of waiting out the function', async () => {
      const silent = await silentServer();
      try {
        const [answer] = await invoke(
          'heartbeat',
          PARAMETER,
          [heartbeat('sched-a', { token: TOKEN })],
          `http://127.0.0.1:${silent.port}`,
        );
        expect(answer?.statusCode).toBe(503);
        // DynamoDB's default of four attempts, each on a new connection (the hung one is destroyed).
        expect(silent.connections()).toBe(4);
      } finally {
        await silent.close();
      }
    });

    function heartbeat(name: string, credential: Credential): APIGatewayProxyEventV2 {
      const body = candidate(name, { binary: '1.34.0', emulation: '1.34.0' }, Date.now());
      return httpEvent(
        'POST',
        '/clusters/alpha/leasecandidates',
        '/clusters/{cluster}/leasecandidates',
        credential,
        body,
      );
    }
  });

  it('runs ingest for longer than its minute, so runs overlap, and never retries or delivers a stale tick', () => {
    const ingest = ofType('AWS::Lambda::Function').find(([name]) => name.startsWith('Ingest'))?.[1];
    // Stopped 3 s before its timeout, a run overlaps the next minute's by the rest (docs/reliability.md).
    expect(Number(ingest?.Properties.Timeout) - 3 - 60).toBeGreaterThanOrEqual(10);
    const config = ofType('AWS::Lambda::EventInvokeConfig').find(([name]) => name.startsWith('Ingest'))?.[1];
    expect(config?.Properties).toMatchObject({ MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 });
  });

  describe('the alarms and the dashboard (infra/monitoring.yml)', () => {
    type Alarm = { Type: string; Properties: Record<string, unknown> };
    const alarm = (name: string) => {
      const found = template.Resources[name] as Alarm | undefined;
      expect(found?.Type, name).toBe('AWS::CloudWatch::Alarm');
      return (found as Alarm).Properties;
    };
    /** Every metric an alarm watches, as namespace/name, with the dimensions it names. */
    const watched = (properties: Record<string, unknown>) => {
      const stats = properties.Metrics as { MetricStat?: { Metric: Record<string, unknown> } }[] | undefined;
      const metrics = stats?.flatMap((m) => (m.MetricStat === undefined ? [] : [m.MetricStat.Metric])) ?? [
        properties,
      ];
      return metrics.map((m) => ({
        metric: `${m.Namespace}/${m.MetricName}`,
        dimensions: JSON.stringify(m.Dimensions),
      }));
    };
    const topic = JSON.stringify({ Ref: 'AlarmTopic' });

    it.each([
      ['StreamFailuresAlarm', ['AWS/SQS/ApproximateNumberOfMessagesVisible'], 'StreamFailureQueue'],
      ['TimerDeadLettersAlarm', ['AWS/SQS/ApproximateNumberOfMessagesVisible'], 'TimerDeadLetterQueue'],
      ['ThrottledWritesAlarm', ['AWS/DynamoDB/WriteThrottleEvents'], 'CoordinatorTable'],
      ['IngestErrorsAlarm', ['LeaseCoordinator/IngestErrors', 'AWS/Lambda/Errors'], 'IngestLambdaFunction'],
      ['MirrorErrorsAlarm', ['LeaseCoordinator/MirrorFailures', 'AWS/Lambda/Errors'], 'MirrorLambdaFunction'],
    ])('%s watches %j of %s, firing on the first one, into the alarm topic', (name, metrics, resource) => {
      const properties = alarm(name);
      const seen = watched(properties);
      expect(seen.map((m) => m.metric)).toEqual(metrics);
      expect(seen.some((m) => m.dimensions.includes(resource))).toBe(true);
      expect(properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
      expect(JSON.stringify(properties.AlarmActions)).toBe(`[${topic}]`);
    });

    it('holds ingest and mirror errors for 5 minutes before firing', () => {
      for (const name of ['IngestErrorsAlarm', 'MirrorErrorsAlarm'])
        expect(alarm(name), name).toMatchObject({ EvaluationPeriods: 5, DatapointsToAlarm: 5 });
      for (const name of ['StreamFailuresAlarm', 'TimerDeadLettersAlarm', 'ThrottledWritesAlarm'])
        expect(alarm(name), name).toMatchObject({ Period: 60, EvaluationPeriods: 1 });
    });

    it('fires when a lease has been leaderless longer than the stack parameter, 60 s unless set', () => {
      const properties = alarm('LeaderlessLeaseAlarm');
      expect(watched(properties).map((m) => m.metric)).toEqual(['LeaseCoordinator/LongestWithoutLiveHolder']);
      expect(properties).toMatchObject({
        Statistic: 'Maximum',
        Threshold: { Ref: 'LeaderlessAlarmSeconds' },
        ComparisonOperator: 'GreaterThanThreshold',
        Dimensions: [{ Name: 'service', Value: 'lease-coordinator-ci' }],
      });
      const parameters = (template as unknown as { Parameters: Record<string, { Default: unknown }> })
        .Parameters;
      expect(Number(parameters.LeaderlessAlarmSeconds?.Default)).toBe(60);
    });

    it('fires when no sweep finished or no ingest started in each of 5 minutes, missing data counted as that', () => {
      const properties = alarm('CoordinatorStalledAlarm');
      const seen = watched(properties);
      expect(seen.map((m) => m.metric)).toEqual([
        'LeaseCoordinator/LongestWithoutLiveHolder',
        'AWS/Lambda/Invocations',
      ]);
      expect(seen[1]?.dimensions).toContain('IngestLambdaFunction');
      const stats = (
        properties.Metrics as { Id: string; Expression?: string; MetricStat?: { Stat: string } }[]
      ).map((m) => m.MetricStat?.Stat ?? m.Expression);
      // A finished sweep reports its tally once; each sample counts one run, whatever its value.
      expect(stats).toEqual(['MIN([FILL(sweeps, 0), FILL(ingests, 0)])', 'SampleCount', 'Sum']);
      expect(properties).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
        EvaluationPeriods: 5,
        DatapointsToAlarm: 5,
      });
      expect(JSON.stringify(properties.AlarmActions)).toBe(`[${topic}]`);
    });

    it('keeps the alarm topic closed: only this account’s alarms publish, and nobody is subscribed unless an email is given', () => {
      const policy = JSON.stringify(template.Resources.AlarmTopicPolicy?.Properties);
      expect(policy).toContain('cloudwatch.amazonaws.com');
      expect(policy).toContain('aws:SourceAccount');
      const subscriptions = resources.filter(([, r]) => r.Type === 'AWS::SNS::Subscription');
      expect(subscriptions.map(([name]) => name)).toEqual(['AlarmEmailSubscription']);
      expect((subscriptions[0]?.[1] as { Condition?: string }).Condition).toBe('AlarmEmailGiven');
    });

    it('alarms and dashboard name only metrics of the catalogue, and the dashboard shows every one', () => {
      const ours = new Set<string>(METRIC_NAMES);
      for (const [name, resource] of ofType('AWS::CloudWatch::Alarm'))
        for (const { metric } of watched(resource.Properties))
          if (metric.startsWith(`${METRIC_NAMESPACE}/`))
            expect(ours.has(metric.slice(METRIC_NAMESPACE.length + 1)), `${name}: ${metric}`).toBe(true);
      const [[, dashboard]] = ofType('AWS::CloudWatch::Dashboard') as [[string, Resource]];
      const [body] = (dashboard.Properties.DashboardBody as { 'Fn::Sub': [string, unknown] })['Fn::Sub'];
      // Placeholders filled as CloudFormation would, to read the body as the JSON it becomes.
      const widgets = (
        JSON.parse(body.replace(/\$\{bound\}/g, '60').replace(/\$\{[^}]+\}/g, 'x')) as {
          widgets: { properties: { metrics?: unknown[][] } }[];
        }
      ).widgets;
      const shown = new Set<string>();
      for (const row of widgets.flatMap((w) => w.properties.metrics ?? [])) {
        const [first, second] = row;
        if (first === METRIC_NAMESPACE) shown.add(String(second));
        const search = (first as { expression?: string }).expression ?? '';
        for (const [, metric] of search.matchAll(/MetricName="(\w+)"/g)) shown.add(metric as string);
      }
      for (const name of shown) expect(ours.has(name), `dashboard shows ${name}`).toBe(true);
      expect([...ours].filter((name) => !shown.has(name))).toEqual([]);
    });
  });

  it('passes cfn-lint', async () => {
    const cfnLint = ensureCfnLint();
    // W3005 flags the DependsOn the framework itself generates next to a GetAtt/Ref; it is harmless.
    const result = await execFileAsync(cfnLint, [
      '--ignore-checks',
      'W3005',
      '--',
      join(out, 'cloudformation-template-update-stack.json'),
    ]).then(
      () => ({ code: 0, output: '' }),
      (error: { code: number; stdout: string }) => ({ code: error.code, output: error.stdout }),
    );
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  }, 300_000);
});

type Credential = { token?: string; signer?: string };

/** A TCP server that accepts every connection and never answers: a table behind a half-open connection. */
async function silentServer(): Promise<{
  port: number;
  connections: () => number;
  close: () => Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    connections: () => accepted,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * An HTTP API payload 2.0 event as API Gateway sends it: a signed request goes to the route's
 * /iam/ twin and carries the IAM authorizer's context; bodies arrive base64-encoded.
 */
function httpEvent(
  method: string,
  path: string,
  route: string,
  credential: Credential,
  body?: unknown,
): APIGatewayProxyEventV2 {
  const prefix = credential.signer === undefined ? '' : '/iam';
  const names = [...route.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
  const values = new RegExp(`^${route.replace(/\{\w+\}/g, '([^/]+)')}$`).exec(path)?.slice(1) ?? [];
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: `${method} ${prefix}${route}`,
    rawPath: `${prefix}${path}`,
    rawQueryString: '',
    headers: {
      'content-type': 'application/json',
      ...(credential.token !== undefined && { authorization: `Bearer ${credential.token}` }),
      ...(credential.signer !== undefined && {
        authorization:
          'AWS4-HMAC-SHA256 Credential=ASIA.../execute-api/aws4_request, SignedHeaders=host, Signature=...',
      }),
    },
    pathParameters: Object.fromEntries(names.map((name, i) => [name, values[i] as string])),
    requestContext: {
      accountId: '111122223333',
      apiId: 'offline',
      domainName: 'offline.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'offline',
      http: {
        method,
        path: `${prefix}${path}`,
        protocol: 'HTTP/1.1',
        sourceIp: '192.0.2.1',
        userAgent: 'test',
      },
      requestId: `request-${now}`,
      routeKey: `${method} ${prefix}${route}`,
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
      ...(credential.signer !== undefined && {
        authorizer: {
          iam: {
            accessKey: 'ASIAOFFLINE',
            accountId: credential.signer.split(':')[4] as string,
            callerId: 'AROAOFFLINE:i-0abc123',
            cognitoIdentity: null,
            principalOrgId: null,
            userArn: credential.signer,
            userId: 'AROAOFFLINE:i-0abc123',
          },
        },
      }),
    },
    ...(body !== undefined && {
      body: Buffer.from(JSON.stringify(body)).toString('base64'),
      isBase64Encoded: true,
    }),
    ...(body === undefined && { isBase64Encoded: false }),
  } as unknown as APIGatewayProxyEventV2;
}
