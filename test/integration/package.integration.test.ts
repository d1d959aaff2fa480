import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureCfnLint } from '../../scripts/ensure-cfn-lint.mjs';

const run = promisify(execFile);
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
    await run('npx', ['serverless', 'package', '--stage', 'ci', '--package', out], {
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

  it('feeds requeue from the timer queue and runs sweep and ingest every minute', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties);
    expect(mappings.some((m) => JSON.stringify(m.EventSourceArn).includes('TimerQueue'))).toBe(true);
    const rules = ofType('AWS::Events::Rule').map(([, r]) => r.Properties.ScheduleExpression);
    expect(rules.filter((r) => r === 'rate(1 minute)')).toHaveLength(2);
  });

  it('runs one sweep at a time, dropping a tick that finds one running', () => {
    const sweep = ofType('AWS::Lambda::Function').find(([name]) => name.startsWith('Sweep'))?.[1];
    expect(sweep?.Properties.ReservedConcurrentExecutions).toBe(1);
    const config = ofType('AWS::Lambda::EventInvokeConfig').find(([name]) => name.startsWith('Sweep'))?.[1];
    expect(config?.Properties).toMatchObject({ MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 });
  });

  it('passes cfn-lint', async () => {
    const cfnLint = ensureCfnLint();
    // W3005 flags the DependsOn the framework itself generates next to a GetAtt/Ref; it is harmless.
    const result = await run(cfnLint, [
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
