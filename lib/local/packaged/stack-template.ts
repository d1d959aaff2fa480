import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import type { FilterPattern } from '../event-filter.js';
import { FUNCTION_NAMES, type FunctionName } from '../invocations.js';
import { isLambdaRuntime, LAMBDA_RUNTIMES, type LambdaRuntime } from './lambda-node.js';

/** One function as the packaged CloudFormation template declares it. */
export interface PackagedFunction {
  readonly name: FunctionName;
  /** e.g. functions/heartbeat.handler */
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** The Lambda runtime (serverless.yml's provider.runtime), whose Node the containers run on. */
  readonly runtime: LambdaRuntime;
}

/** A DynamoDB stream event source mapping, as deployed. */
export interface StreamMapping {
  readonly batchSize: number;
  readonly maximumRetryAttempts: number;
  readonly maximumRecordAgeInSeconds: number;
  readonly bisectBatchOnFunctionError: boolean;
  readonly reportBatchItemFailures: boolean;
  readonly filters: readonly FilterPattern[];
}

/** The SQS timer queue and its mapping into `requeue`. */
export interface TimerQueueSettings {
  readonly batchSize: number;
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number;
  readonly reportBatchItemFailures: boolean;
  /** The mapping's ScalingConfig.MaximumConcurrency: invocations at once; undefined: Lambda's own bound. */
  readonly maximumConcurrency?: number;
}

/** Asynchronous invocation settings (EventBridge targets); Lambda's defaults where none is set. */
export interface AsyncInvokeSettings {
  readonly maximumRetryAttempts: number;
  readonly maximumEventAgeInSeconds: number;
}

export interface HttpRoute {
  /** e.g. POST /clusters/{cluster}/leasecandidates */
  readonly routeKey: string;
  readonly function: FunctionName;
  /** AWS_IAM routes are not served locally: nothing here can check a SigV4 signature. */
  readonly authorization: string;
}

export interface StackTemplate {
  readonly functions: ReadonlyMap<FunctionName, PackagedFunction>;
  readonly streams: { readonly elect: StreamMapping; readonly mirror: StreamMapping };
  readonly timerQueue: TimerQueueSettings;
  /** Functions an EventBridge rule starts every minute, with their async settings. */
  readonly schedules: ReadonlyMap<FunctionName, AsyncInvokeSettings>;
  readonly routes: readonly HttpRoute[];
}

type Resource = { readonly Type: string; readonly Properties: Record<string, unknown> };

/** Lambda's defaults for asynchronous invocation. */
const ASYNC_DEFAULTS: AsyncInvokeSettings = { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 21_600 };

/**
 * Reads what `serverless package` wrote (cloudformation-template-update-stack.json): the runtime
 * settings that ship, rather than a second copy of serverless.yml's, so the packaged mode runs
 * each function with the timeout, batch size, filters and retries AWS would be given.
 */
export function readStackTemplate(packageDir: string): StackTemplate {
  const path = join(packageDir, 'cloudformation-template-update-stack.json');
  const template = JSON.parse(readFileSync(path, 'utf8')) as { Resources: Record<string, Resource> };
  const resources = new Resources(path, template.Resources);
  return {
    functions: readFunctions(resources),
    streams: { elect: readStreamMapping(resources, 'elect'), mirror: readStreamMapping(resources, 'mirror') },
    timerQueue: readTimerQueue(resources),
    schedules: readSchedules(resources),
    routes: readRoutes(resources),
  };
}

/** The template's resources, with the lookups every part of it needs; errors name the file. */
class Resources {
  constructor(
    readonly path: string,
    readonly byId: Record<string, Resource>,
  ) {}

  /** The resources of one CloudFormation type, as [logical id, resource]. */
  ofType(type: string): [string, Resource][] {
    return Object.entries(this.byId).filter(([, r]) => r.Type === type);
  }

  /** The packaged function a reference (an ARN, a `Ref`, a `Fn::GetAtt`) points at. */
  functionOf(reference: unknown): FunctionName {
    const text = JSON.stringify(reference);
    const name = FUNCTION_NAMES.find((fn) => text.includes(`"${logicalId(fn)}"`));
    if (name === undefined) throw new ConfigError(`${this.path}: no packaged function in ${text}`);
    return name;
  }

  /** The event source mapping (stream or queue) into `fn`. */
  mappingOf(fn: FunctionName): Record<string, unknown> {
    const mappings = this.ofType('AWS::Lambda::EventSourceMapping').map(([, r]) => r.Properties);
    const found = mappings.find((m) => this.functionOf(m.FunctionName) === fn);
    if (found === undefined) throw new ConfigError(`${this.path}: ${fn} has no event source mapping`);
    return found;
  }

  fail(message: string): never {
    throw new ConfigError(`${this.path}: ${message}`);
  }
}

function readFunctions(resources: Resources): Map<FunctionName, PackagedFunction> {
  const functions = new Map<FunctionName, PackagedFunction>();
  for (const name of FUNCTION_NAMES) {
    const props = resources.byId[logicalId(name)]?.Properties;
    if (props === undefined) resources.fail(`function ${name} is not in the template`);
    functions.set(name, {
      name,
      handler: String(props.Handler),
      timeoutSeconds: Number(props.Timeout ?? 3),
      memoryMb: Number(props.MemorySize ?? 128),
      runtime: readRuntime(resources, name, props.Runtime),
    });
  }
  return functions;
}

/** A function's Runtime, one whose Node the packaged mode has pinned (lib/local/packaged/lambda-node.ts). */
function readRuntime(resources: Resources, fn: FunctionName, runtime: unknown): LambdaRuntime {
  if (!isLambdaRuntime(runtime))
    resources.fail(
      `function ${fn}'s Runtime (serverless.yml's provider.runtime): ${JSON.stringify(runtime)} is not a runtime the packaged mode runs (${LAMBDA_RUNTIMES.join(', ')})`,
    );
  return runtime;
}

function readStreamMapping(resources: Resources, fn: 'elect' | 'mirror'): StreamMapping {
  const m = resources.mappingOf(fn);
  const filters = (m.FilterCriteria as { Filters?: { Pattern: string }[] } | undefined)?.Filters ?? [];
  return {
    batchSize: Number(m.BatchSize ?? 100),
    maximumRetryAttempts: Number(m.MaximumRetryAttempts ?? -1),
    maximumRecordAgeInSeconds: Number(m.MaximumRecordAgeInSeconds ?? -1),
    bisectBatchOnFunctionError: m.BisectBatchOnFunctionError === true,
    reportBatchItemFailures: reportsItemFailures(m),
    filters: filters.map((f) => JSON.parse(f.Pattern) as FilterPattern),
  };
}

function readTimerQueue(resources: Resources): TimerQueueSettings {
  const requeue = resources.mappingOf('requeue');
  const queue = resources.byId.TimerQueue?.Properties ?? {};
  const redrive = (queue.RedrivePolicy ?? {}) as { maxReceiveCount?: number };
  const maximumConcurrency = readMaximumConcurrency(resources, requeue);
  return {
    batchSize: Number(requeue.BatchSize ?? 10),
    visibilityTimeoutSeconds: Number(queue.VisibilityTimeout ?? 30),
    maxReceiveCount: Number(redrive.maxReceiveCount ?? Number.POSITIVE_INFINITY),
    reportBatchItemFailures: reportsItemFailures(requeue),
    ...(maximumConcurrency !== undefined && { maximumConcurrency }),
  };
}

/** The cap on concurrent invocations of an SQS mapping, in the range AWS accepts (2 to 1,000). */
function readMaximumConcurrency(resources: Resources, mapping: Record<string, unknown>): number | undefined {
  const value = (mapping.ScalingConfig as { MaximumConcurrency?: unknown } | undefined)?.MaximumConcurrency;
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 2 || value > 1_000)
    resources.fail(
      `requeue's ScalingConfig.MaximumConcurrency: must be a whole number from 2 to 1000, not ${JSON.stringify(value)}`,
    );
  return value;
}

function readSchedules(resources: Resources): Map<FunctionName, AsyncInvokeSettings> {
  const invokeConfigs = resources.ofType('AWS::Lambda::EventInvokeConfig').map(([, r]) => r.Properties);
  const schedules = new Map<FunctionName, AsyncInvokeSettings>();
  for (const [, rule] of resources.ofType('AWS::Events::Rule')) {
    if (rule.Properties.ScheduleExpression !== 'rate(1 minute)') {
      resources.fail('only rate(1 minute) schedules are run locally');
    }
    for (const target of rule.Properties.Targets as { Arn: unknown }[]) {
      const fn = resources.functionOf(target.Arn);
      const config = invokeConfigs.find((c) => resources.functionOf(c.FunctionName) === fn);
      schedules.set(fn, {
        maximumRetryAttempts: Number(config?.MaximumRetryAttempts ?? ASYNC_DEFAULTS.maximumRetryAttempts),
        maximumEventAgeInSeconds: Number(
          config?.MaximumEventAgeInSeconds ?? ASYNC_DEFAULTS.maximumEventAgeInSeconds,
        ),
      });
    }
  }
  return schedules;
}

function readRoutes(resources: Resources): HttpRoute[] {
  const integrations = new Map(
    resources
      .ofType('AWS::ApiGatewayV2::Integration')
      .map(([id, r]) => [id, resources.functionOf(r.Properties.IntegrationUri)]),
  );
  return resources.ofType('AWS::ApiGatewayV2::Route').map(([, r]) => {
    const target = JSON.stringify(r.Properties.Target);
    const integration = [...integrations.keys()].find((id) => target.includes(`"${id}"`));
    if (integration === undefined) resources.fail(`route ${r.Properties.RouteKey} has no target`);
    return {
      routeKey: String(r.Properties.RouteKey),
      function: integrations.get(integration) as FunctionName,
      authorization: String(r.Properties.AuthorizationType ?? 'NONE'),
    };
  });
}

function logicalId(fn: FunctionName): string {
  return `${fn[0]?.toUpperCase()}${fn.slice(1)}LambdaFunction`;
}

function reportsItemFailures(mapping: Record<string, unknown>): boolean {
  return ((mapping.FunctionResponseTypes ?? []) as string[]).includes('ReportBatchItemFailures');
}
