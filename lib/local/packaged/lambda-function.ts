import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InvocationError } from '../../errors.js';
import type { PackagedFunction } from './stack-template.js';

const CONTAINER = new URL('./container.mjs', import.meta.url).pathname;

type Reply =
  | { type: 'ready'; initMs: number; nodeVersion: string }
  | { type: 'init-error'; error: { name: string; message: string } }
  | { type: 'result'; id: string; result: unknown }
  | { type: 'error'; id: string; error: { name: string; message: string } };

/** What Lambda would show in its metrics for this function. */
export interface FunctionStats {
  invocations: number;
  coldStarts: number;
  errors: number;
  timeouts: number;
  /** Module init time of each cold start, import to handler ready. */
  readonly initMs: number[];
  /** The Node version (`process.version`) the last container to start reported running on. */
  nodeVersion?: string;
}

interface Container {
  readonly process: ChildProcess;
  readonly ready: Promise<void>;
}

/**
 * A packaged function and its containers: each invocation runs alone in a container; a warm,
 * idle one is reused, otherwise a new one starts (a cold start: a fresh process imports the
 * bundle). An invocation past the function's timeout is abandoned, its container discarded (as
 * Lambda resets the execution environment), and it counts as an error.
 */
export class LambdaFunction {
  private readonly idle: Container[] = [];
  private readonly all = new Set<Container>();
  private readonly bundle: string;
  private stopped = false;
  private readonly exportName: string;
  readonly stats: FunctionStats = { invocations: 0, coldStarts: 0, errors: 0, timeouts: 0, initMs: [] };

  constructor(
    readonly spec: PackagedFunction,
    taskRoot: string,
    private readonly environment: NodeJS.ProcessEnv,
    private readonly cwd: string,
    /** The `node` that runs the containers: the runtime's (lambda-node.ts). */
    private readonly node: string,
  ) {
    const dot = spec.handler.lastIndexOf('.');
    const file = spec.handler.slice(0, dot);
    this.exportName = spec.handler.slice(dot + 1);
    const found = ['.mjs', '.js', '.cjs'].map((ext) => join(taskRoot, file + ext)).find(existsSync);
    if (found === undefined)
      throw new InvocationError(spec.name, 'Runtime.ImportModuleError', `no ${file} bundle`);
    this.bundle = found;
  }

  /** Invokes the function once with `event`; resolves with its answer, rejects as Lambda reports a failure. */
  async invoke(event: unknown): Promise<unknown> {
    if (this.stopped)
      throw new InvocationError(this.spec.name, 'Runtime.Stopped', 'the local runtime is stopping');
    this.stats.invocations++;
    const container = this.idle.pop() ?? this.coldStart();
    try {
      const result = await this.run(container, event);
      this.idle.push(container);
      return result;
    } catch (error) {
      this.stats.errors++;
      // A handler error leaves the container warm; a timeout or a crash does not.
      if (error instanceof InvocationError && error.errorType === 'Handler') this.idle.push(container);
      else this.discard(container);
      throw error;
    }
  }

  /** Ends every container at once, busy or not (an invocation under way is abandoned). */
  stop(): void {
    this.stopped = true;
    for (const container of this.all) this.discard(container);
  }

  private coldStart(): Container {
    this.stats.coldStarts++;
    const child = spawn(this.node, [CONTAINER, this.bundle, this.exportName], {
      cwd: this.cwd,
      env: this.environment,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (reply: Reply) => {
        if (reply.type === 'ready') {
          this.stats.initMs.push(reply.initMs);
          this.stats.nodeVersion = reply.nodeVersion;
          resolve();
        } else if (reply.type === 'init-error') {
          reject(new InvocationError(this.spec.name, 'Runtime.ImportModuleError', reply.error.message));
        }
      };
      child.on('message', onMessage);
      child.once('exit', (code) =>
        reject(new InvocationError(this.spec.name, 'Runtime.ExitError', `exited with ${code} during init`)),
      );
    });
    ready.catch(() => {}); // observed by the invocation that waits on it
    const container = { process: child, ready };
    this.all.add(container);
    return container;
  }

  private async run(container: Container, event: unknown): Promise<unknown> {
    await container.ready;
    const id = randomUUID();
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    const deadline = Date.now() + timeoutMs;
    const child = container.process;
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const onMessage = (reply: Reply) => {
        if (reply.type === 'result' && reply.id === id) {
          finish();
          resolve(reply.result);
        } else if (reply.type === 'error' && reply.id === id) {
          finish();
          reject(
            new InvocationError(this.spec.name, 'Handler', `${reply.error.name}: ${reply.error.message}`),
          );
        }
      };
      const onExit = (code: number | null) => {
        finish();
        reject(new InvocationError(this.spec.name, 'Runtime.ExitError', `container exited with ${code}`));
      };
      const timer = setTimeout(() => {
        finish();
        this.stats.timeouts++;
        reject(
          new InvocationError(
            this.spec.name,
            'Sandbox.Timedout',
            `Task timed out after ${this.spec.timeoutSeconds} seconds`,
          ),
        );
      }, timeoutMs);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ id, event, deadline, context: this.context(id) });
    });
  }

  private context(requestId: string) {
    return {
      awsRequestId: requestId,
      functionName: `lease-coordinator-local-${this.spec.name}`,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:lease-coordinator-local-${this.spec.name}`,
      memoryLimitInMB: String(this.spec.memoryMb),
      logGroupName: `/aws/lambda/lease-coordinator-local-${this.spec.name}`,
      logStreamName: 'local',
    };
  }

  private discard(container: Container): void {
    this.all.delete(container);
    const at = this.idle.indexOf(container);
    if (at >= 0) this.idle.splice(at, 1);
    container.process.kill('SIGKILL');
  }
}
