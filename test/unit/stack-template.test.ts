import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/errors.js';
import { FUNCTION_NAMES } from '../../lib/local/invocations.js';
import { readStackTemplate } from '../../lib/local/packaged/stack-template.js';

const logicalId = (fn: string) => `${fn[0]?.toUpperCase()}${fn.slice(1)}LambdaFunction`;

/** A function with no Runtime property at all (JSON leaves out undefined, so it cannot say so). */
const NO_RUNTIME = Symbol('no Runtime');

/** The least of a packaged template readStackTemplate needs: the functions and their three mappings. */
function template(scalingConfig?: unknown, runtime: unknown = 'nodejs22.x') {
  const functions = Object.fromEntries(
    FUNCTION_NAMES.map((fn) => [
      logicalId(fn),
      {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Handler: `functions/${fn}.handler`,
          ...(runtime !== NO_RUNTIME && { Runtime: runtime }),
        },
      },
    ]),
  );
  const stream = (fn: string) => ({
    Type: 'AWS::Lambda::EventSourceMapping',
    Properties: { FunctionName: { 'Fn::GetAtt': [logicalId(fn), 'Arn'] }, BatchSize: 100 },
  });
  return {
    Resources: {
      ...functions,
      ElectMapping: stream('elect'),
      MirrorMapping: stream('mirror'),
      RequeueMapping: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          FunctionName: { 'Fn::GetAtt': [logicalId('requeue'), 'Arn'] },
          BatchSize: 10,
          ...(scalingConfig !== undefined && { ScalingConfig: scalingConfig }),
        },
      },
      TimerQueue: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 120 } },
    },
  };
}

describe('readStackTemplate: the timer queue mapping’s maximum concurrency (unit: a template on disk)', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  function read(scalingConfig?: unknown) {
    dir = mkdtempSync(join(tmpdir(), 'stack-template-'));
    writeFileSync(
      join(dir, 'cloudformation-template-update-stack.json'),
      JSON.stringify(template(scalingConfig)),
    );
    return readStackTemplate(dir);
  }

  it('reads ScalingConfig.MaximumConcurrency, and leaves it unset when the mapping has none', () => {
    expect(read({ MaximumConcurrency: 2 }).timerQueue.maximumConcurrency).toBe(2);
    expect(read().timerQueue.maximumConcurrency).toBeUndefined();
  });

  it.each([1, 1_001, 2.5, '3'])('rejects MaximumConcurrency %j, naming the field', (value) => {
    expect(() => read({ MaximumConcurrency: value })).toThrow(ConfigError);
    expect(() => read({ MaximumConcurrency: value })).toThrow(/ScalingConfig\.MaximumConcurrency/);
  });
});

describe('readStackTemplate: each function’s runtime (unit: a template on disk)', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  function read(runtime: unknown) {
    dir = mkdtempSync(join(tmpdir(), 'stack-template-'));
    writeFileSync(
      join(dir, 'cloudformation-template-update-stack.json'),
      JSON.stringify(template(undefined, runtime)),
    );
    return readStackTemplate(dir);
  }

  it('reads the Runtime the containers run on', () => {
    expect([...read('nodejs22.x').functions.values()].map((fn) => fn.runtime)).toEqual(
      FUNCTION_NAMES.map(() => 'nodejs22.x'),
    );
  });

  it.each(['nodejs18.x', 'python3.13', null, 22, NO_RUNTIME])(
    'rejects Runtime %j, naming the field',
    (runtime) => {
      expect(() => read(runtime)).toThrow(ConfigError);
      expect(() => read(runtime)).toThrow(/Runtime \(serverless\.yml's provider\.runtime\).*nodejs22\.x/);
    },
  );
});
