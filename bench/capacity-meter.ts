import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { currentFunction, trackInvocations } from '../lib/local/invocations.js';
import { HISTORY_PK_PREFIX } from '../lib/store/history-keys.js';
import { COVER_PK } from '../lib/store/keys.js';

/** Commands that can report the capacity they consumed. */
const METERED = new Set([
  'GetItemCommand',
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
  'TransactGetItemsCommand',
]);

/** What one function (or the bench itself, outside any invocation) consumed. */
export interface Consumption {
  readUnits: number;
  writeUnits: number;
  /** Table calls: writes (Put/Update/Delete/BatchWrite/TransactWrite) and reads (Get/Query/Scan/...). */
  writes: number;
  reads: number;
  /**
   * Conditional writes of a lease's record (sk = LEASE: a decision, a release, a renewal), and those
   * whose condition failed: a lost compare-and-set, when two deciders act on one change.
   */
  leaseWrites?: number;
  leaseWritesLost?: number;
}

const OUTSIDE = 'bench';
/** Where calls on ingest's timer cover (COVER#timers) are booked, whichever function made them. */
export const COVER_ACCOUNT = 'cover';

interface Consumed {
  readonly ReadCapacityUnits?: number;
  readonly WriteCapacityUnits?: number;
  readonly CapacityUnits?: number;
}

/**
 * Counts the read and write units DynamoDB reports for every call (ReturnConsumedCapacity TOTAL,
 * added by a client middleware, so the coordinator's code is measured unchanged). A failed
 * conditional write reports nothing but is billed one write unit, so it is counted as one.
 * Each call is also booked to the function that made it (lib/local/invocations.ts), so that work
 * on a schedule, such as the sweep, is not charged to the heartbeats it happens to overlap.
 */
export class CapacityMeter {
  readUnits = 0;
  writeUnits = 0;
  failedConditions = 0;
  readonly calls = new Map<string, number>();
  readonly byFunction = new Map<string, Consumption>();
  /** Calls on the decision history's partitions (HISTORY#…), whichever function made them. */
  readonly history: Consumption = { readUnits: 0, writeUnits: 0, writes: 0, reads: 0 };
  private readonly tallies = new Set<{ readonly on: (pk: string) => boolean; readonly into: Consumption }>();

  /**
   * Counts, from now until the returned stop, every call on a partition `on` accepts, whichever
   * function made it: what some leases cost, apart from the others a cluster holds.
   */
  tally(on: (pk: string) => boolean): { readonly counted: Consumption; stop(): void } {
    const tally = { on, into: { readUnits: 0, writeUnits: 0, writes: 0, reads: 0 } };
    this.tallies.add(tally);
    return { counted: tally.into, stop: () => this.tallies.delete(tally) };
  }

  attach(client: DynamoDBClient): void {
    trackInvocations();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = (context as { commandName?: string }).commandName ?? 'unknown';
        const input = args.input as Record<string, unknown>;
        // Ingest's timer cover is a fixed cost, whoever writes or reads it: booked apart.
        const fn = this.account(
          onPartition(input, COVER_PK) ? COVER_ACCOUNT : (currentFunction() ?? OUTSIDE),
        );
        const accounts = onPartition(input, HISTORY_PK_PREFIX) ? [fn, this.history] : [fn];
        const pk = this.tallies.size > 0 ? partitionOf(input) : undefined;
        for (const { on, into } of this.tallies) if (pk !== undefined && on(pk)) accounts.push(into);
        this.calls.set(command, (this.calls.get(command) ?? 0) + 1);
        if (METERED.has(command)) {
          (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'TOTAL';
          for (const account of accounts) {
            if (isWrite(command)) account.writes += 1;
            else account.reads += 1;
          }
        }
        const leaseWrite = isWrite(command) && onLeaseRecord(input);
        if (leaseWrite) fn.leaseWrites = (fn.leaseWrites ?? 0) + 1;
        try {
          const result = await next(args);
          const consumed = (result.output as { ConsumedCapacity?: Consumed | Consumed[] }).ConsumedCapacity;
          this.add(consumed, command, accounts);
          return result;
        } catch (error) {
          if ((error as Error).name === 'ConditionalCheckFailedException') {
            this.failedConditions += 1;
            this.writeUnits += 1;
            for (const account of accounts) account.writeUnits += 1;
            if (leaseWrite) fn.leaseWritesLost = (fn.leaseWritesLost ?? 0) + 1;
          }
          throw error;
        }
      },
      { step: 'initialize', name: 'benchCapacityMeter' },
    );
  }

  snapshot(): {
    readUnits: number;
    writeUnits: number;
    failedConditions: number;
    calls: Record<string, number>;
    byFunction: Record<string, Consumption>;
    history: Consumption;
  } {
    return {
      readUnits: this.readUnits,
      writeUnits: this.writeUnits,
      failedConditions: this.failedConditions,
      calls: Object.fromEntries(this.calls),
      byFunction: Object.fromEntries([...this.byFunction].map(([name, c]) => [name, { ...c }])),
      history: { ...this.history },
    };
  }

  private account(name: string): Consumption {
    let account = this.byFunction.get(name);
    if (account === undefined) {
      account = { readUnits: 0, writeUnits: 0, writes: 0, reads: 0 };
      this.byFunction.set(name, account);
    }
    return account;
  }

  private add(
    consumed: Consumed | Consumed[] | undefined,
    command: string,
    accounts: readonly Consumption[],
  ): void {
    for (const c of Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed]) {
      const units = c.CapacityUnits ?? 0;
      const write = isWrite(command);
      const read = c.ReadCapacityUnits ?? (write ? 0 : units);
      const written = c.WriteCapacityUnits ?? (write ? units : 0);
      this.readUnits += read;
      this.writeUnits += written;
      for (const account of accounts) {
        account.readUnits += read;
        account.writeUnits += written;
      }
    }
  }
}

/**
 * Whether a single-item call or a Query is on a partition whose key starts with `prefix` (the
 * decision history's, the timer cover's). Its key is marshalled: the store marshals before it sends
 * (lib/store/table-calls.ts).
 */
function onPartition(input: Record<string, unknown>, prefix: string): boolean {
  return partitionOf(input)?.startsWith(prefix) === true;
}

/** The partition key of a single-item call or a Query. */
function partitionOf(input: Record<string, unknown>): string | undefined {
  const item = (input.Key ?? input.Item) as Record<string, AttributeValue> | undefined;
  const pk =
    item?.pk ?? (input.ExpressionAttributeValues as Record<string, AttributeValue> | undefined)?.[':pk'];
  return pk?.S;
}

/** Whether a single-item write is on a lease's own record (sk = LEASE). */
function onLeaseRecord(input: Record<string, unknown>): boolean {
  const item = (input.Key ?? input.Item) as Record<string, AttributeValue> | undefined;
  return item?.sk?.S === 'LEASE';
}

function isWrite(command: string): boolean {
  return /Put|Update|Delete|Write/.test(command);
}

/** What the named functions consumed between two snapshots. */
export function consumedBetween(
  before: Pick<ReturnType<CapacityMeter['snapshot']>, 'byFunction'>,
  after: Pick<ReturnType<CapacityMeter['snapshot']>, 'byFunction'>,
  include: (name: string) => boolean,
): Consumption {
  const total: Consumption = { readUnits: 0, writeUnits: 0, writes: 0, reads: 0 };
  for (const [name, a] of Object.entries(after.byFunction)) {
    if (!include(name)) continue;
    const b = before.byFunction[name];
    total.readUnits += a.readUnits - (b?.readUnits ?? 0);
    total.writeUnits += a.writeUnits - (b?.writeUnits ?? 0);
    total.writes += a.writes - (b?.writes ?? 0);
    total.reads += a.reads - (b?.reads ?? 0);
  }
  return total;
}
