import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvocationError } from '../../lib/errors.js';
import { LambdaFunction } from '../../lib/local/packaged/lambda-function.js';

/**
 * A bundle that reports which container (process) ran it and how it was called: it waits until
 * told (so a test can hold an invocation), fails when asked, and hangs past any timeout.
 */
const BUNDLE = `
const startedAt = Date.now();
export const handler = async (event, context) => {
  if (event.fail) throw new TypeError('asked to fail');
  if (event.hang) await new Promise(() => setInterval(() => {}, 1000));
  if (event.holdMs) await new Promise((resolve) => setTimeout(resolve, event.holdMs));
  return { pid: process.pid, startedAt, requestId: context.awsRequestId, remaining: context.getRemainingTimeInMillis() };
};
`;

describe('LambdaFunction (packaged mode: containers, cold starts, timeouts)', () => {
  let fn: LambdaFunction | undefined;
  afterEach(() => fn?.stop());

  function packagedFunction(timeoutSeconds: number): LambdaFunction {
    const taskRoot = mkdtempSync(join(tmpdir(), 'lambda-function-test-'));
    mkdirSync(join(taskRoot, 'functions'));
    writeFileSync(join(taskRoot, 'functions', 'probe.mjs'), BUNDLE);
    // The containers' mechanics do not depend on the Node that runs them: this one's, here
    // (test/integration/lambda-node.integration.test.ts runs them on the runtime's).
    fn = new LambdaFunction(
      {
        name: 'sweep',
        handler: 'functions/probe.handler',
        timeoutSeconds,
        memoryMb: 256,
        runtime: 'nodejs22.x',
      },
      taskRoot,
      { PATH: process.env.PATH },
      taskRoot,
      process.execPath,
    );
    return fn;
  }
  type Answer = { pid: number; requestId: string; remaining: number };

  it('starts a container cold once, reuses it warm, and gives it a Lambda context', async () => {
    const probe = packagedFunction(20);
    const first = (await probe.invoke({})) as Answer;
    const second = (await probe.invoke({})) as Answer;
    expect(second.pid).toBe(first.pid);
    expect(second.requestId).not.toBe(first.requestId);
    expect(first.remaining).toBeGreaterThan(0);
    expect(first.remaining).toBeLessThanOrEqual(20_000);
    expect(probe.stats).toMatchObject({ invocations: 2, coldStarts: 1, errors: 0 });
    expect(probe.stats.initMs).toHaveLength(1);
  });

  it('runs one invocation per container: a concurrent call gets a new, cold container', async () => {
    const probe = packagedFunction(20);
    const [a, b] = (await Promise.all([probe.invoke({ holdMs: 200 }), probe.invoke({})])) as [Answer, Answer];
    expect(a.pid).not.toBe(b.pid);
    expect(probe.stats.coldStarts).toBe(2);
  });

  it('reports a handler error as a failed invocation and keeps the container warm', async () => {
    const probe = packagedFunction(20);
    const before = (await probe.invoke({})) as Answer;
    await expect(probe.invoke({ fail: true })).rejects.toThrow(/Handler: TypeError: asked to fail/);
    const after = (await probe.invoke({})) as Answer;
    expect(after.pid).toBe(before.pid);
    expect(probe.stats).toMatchObject({ errors: 1, coldStarts: 1 });
  });

  it('abandons an invocation past the timeout, counts it as an error, and starts the next one cold', async () => {
    const probe = packagedFunction(1);
    const before = (await probe.invoke({})) as Answer;
    const timedOut = probe.invoke({ hang: true });
    await expect(timedOut).rejects.toBeInstanceOf(InvocationError);
    await expect(timedOut).rejects.toThrow(/Task timed out after 1 seconds/);
    const after = (await probe.invoke({})) as Answer;
    expect(after.pid).not.toBe(before.pid);
    expect(probe.stats).toMatchObject({ timeouts: 1, errors: 1, coldStarts: 2 });
  });
});
