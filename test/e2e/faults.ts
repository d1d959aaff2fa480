import { type DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { TERM_ANNOTATION } from '../../lib/api/lease.js';
import { kube } from '../../lib/kube-local/admin.js';
import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import type { StreamHandler } from '../../lib/local/stream-runner.js';

type Consumer = 'elect' | 'mirror';

interface KillPlan {
  remaining: number;
  inARow: number;
  maxInARow: number;
  killed: number;
}

/**
 * Makes the elect and mirror "runtimes" die part-way through batches. A killed invocation handles
 * the first half of its records (their side effects land) and then throws instead of reporting,
 * which the stream runner sees exactly as Lambda's event source mapping sees a crashed runtime.
 * At most two kills in a row per consumer, below the mapping's five retries, so nothing is
 * dropped by design: what this checks is that redelivery converges, not the retry cap.
 */
export class RuntimeKiller {
  private readonly plans: Record<Consumer, KillPlan> = {
    elect: { remaining: 0, inARow: 0, maxInARow: 0, killed: 0 },
    mirror: { remaining: 0, inARow: 0, maxInARow: 0, killed: 0 },
  };
  /** Sequence numbers of records in killed batches, and of records in batches that completed. */
  private readonly interrupted = new Set<string>();
  /** The lease holders the records of killed batches named, per consumer. */
  private readonly killedHolders: Record<Consumer, Set<string>> = { elect: new Set(), mirror: new Set() };
  private readonly completed = new Set<string>();

  constructor(private readonly onKill: () => void) {}

  /** Until disarmed (or `killsPerConsumer` kills), two invocations in three die. */
  arm(killsPerConsumer = Number.POSITIVE_INFINITY): void {
    for (const plan of Object.values(this.plans)) plan.remaining = killsPerConsumer;
  }

  disarm(): void {
    for (const plan of Object.values(this.plans)) plan.remaining = 0;
  }

  killed(consumer: Consumer): number {
    return this.plans[consumer].killed;
  }

  maxKillsInARow(): number {
    return Math.max(...Object.values(this.plans).map((p) => p.maxInARow));
  }

  /** Whether a killed batch carried a lease record naming this holder (a decision naming it). */
  killedNaming(consumer: Consumer, holder: string): boolean {
    return this.killedHolders[consumer].has(holder);
  }

  /** Records of killed batches that no later batch completed. */
  neverRedelivered(consumer: Consumer): string[] {
    return [...this.interrupted]
      .filter((id) => id.startsWith(`${consumer}:`))
      .filter((id) => !this.completed.has(id));
  }

  readonly wrap = (consumer: Consumer, handler: StreamHandler): StreamHandler => {
    return async (event) => {
      const plan = this.plans[consumer];
      const ids = event.Records.map((r) => `${consumer}:${r.dynamodb?.SequenceNumber}`);
      if (plan.remaining > 0 && plan.inARow < 2) {
        plan.remaining--;
        plan.inARow++;
        plan.killed++;
        plan.maxInARow = Math.max(plan.maxInARow, plan.inARow);
        for (const id of ids) this.interrupted.add(id);
        for (const record of event.Records) {
          const holder = record.dynamodb?.NewImage?.holderIdentity?.S;
          if (holder !== undefined && holder !== '') this.killedHolders[consumer].add(holder);
        }
        const handled = Math.ceil(event.Records.length / 2);
        await handler({ Records: event.Records.slice(0, handled) });
        this.onKill();
        throw new Error(`${consumer} runtime killed after ${handled} of ${event.Records.length} records`);
      }
      plan.inARow = 0;
      const response = await handler(event);
      if ((response?.batchItemFailures.length ?? 0) === 0) for (const id of ids) this.completed.add(id);
      return response;
    };
  };
}

const WRITES = /^(Put|Update|Delete|TransactWrite|BatchWrite)/;

/**
 * While on, every DynamoDB write answers ProvisionedThroughputExceededException. It sits inside
 * the SDK's retry middleware, so the SDK backs off and retries as it would against real throttling
 * before the store sees the error.
 */
export class WriteThrottle {
  on = false;
  failed = 0;

  constructor(private readonly onReject: () => void) {}

  /** On a coordinator's table client before its first call (onTableClient): each of them, across restarts. */
  attach(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (this.on && WRITES.test(context.commandName ?? '')) {
          this.failed++;
          this.onReject();
          throw new ProvisionedThroughputExceededException({
            message: 'The level of configured provisioned throughput for the table was exceeded (injected)',
            $metadata: { httpStatusCode: 400 },
          });
        }
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'injectedThrottle' },
    );
  }
}

/**
 * Reads the term annotation of the lease in each cluster whenever asked, one read at a time so
 * the samples are in order. A cluster that does not answer is skipped.
 */
export class TermSampler {
  readonly history: Record<string, number[]> = {};
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly planes: readonly ControlPlane[],
    private readonly path: string,
  ) {}

  sample(): void {
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.readAll().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.sample();
      }
    });
  }

  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /** Pairs of consecutive samples where the term went down, per cluster. */
  decreases(): string[] {
    return Object.entries(this.history).flatMap(([cluster, terms]) =>
      terms.flatMap((term, i) =>
        i > 0 && term < (terms[i - 1] ?? 0) ? [`${cluster}: ${terms[i - 1]} -> ${term}`] : [],
      ),
    );
  }

  private async readAll(): Promise<void> {
    for (const plane of this.planes) {
      const term = await leaseTerm(plane, this.path).catch(() => undefined);
      if (term === undefined) continue;
      const terms = this.history[plane.name] ?? [];
      terms.push(term);
      this.history[plane.name] = terms;
    }
  }
}

async function leaseTerm(plane: ControlPlane, path: string): Promise<number | undefined> {
  const { status, json } = await kube(plane, 'GET', path);
  if (status !== 200) return undefined;
  const annotations = (json.metadata as { annotations?: Record<string, string> }).annotations ?? {};
  const term = annotations[TERM_ANNOTATION];
  return term === undefined ? undefined : Number(term);
}
