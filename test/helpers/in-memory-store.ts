import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { Millis } from '../../lib/election/types.js';
import { ConditionFailedError } from '../../lib/errors.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import type { Clock } from '../../lib/ports/schedule.js';
import type { LeaseState, ScannedLease } from '../../lib/ports/store.js';
import { type CandidateItem, type LeaseItem, leaseStateFromItems } from '../../lib/store/items.js';
import { leaseKeyFromPartition, partitionKey } from '../../lib/store/keys.js';
import { PlannedStore } from '../../lib/store/planned-store.js';
import type { Clause, WritePlan } from '../../lib/store/write-plan.js';

/**
 * An in-memory table with the conditional semantics of DynamoDB, for model tests: it carries out
 * the same write plans as DynamoDbStore, and the store contract suite holds both to the same
 * results. Each DynamoDB request of the real adapter is one atomic step here, preceded by an
 * awaited `gate` so a test scheduler can interleave requests of concurrent invocations, or crash
 * an invocation between two of them.
 */

export interface TimerItem {
  pk: string;
  sk: string;
  kind?: 'timer';
  dueAt?: Millis;
}

export type TableItem = CandidateItem | LeaseItem | TimerItem;

let ordinals = 0;

/** Orders writes across the table and the in-memory clusters of a test. */
export function nextOrdinal(): number {
  return ++ordinals;
}

/** One committed request, on the coordinator's clock. `old`/`new` undefined: no item before/after. */
export interface CommittedWrite {
  readonly seq: number;
  readonly ordinal: number;
  readonly at: Millis;
  readonly method: string;
  readonly pk: string;
  readonly sk: string;
  readonly old: TableItem | undefined;
  readonly new: TableItem | undefined;
}

/** A heartbeat putHeartbeat returned for (not threw): `seq` is the write that stored it. */
export interface AcceptedHeartbeat {
  readonly pk: string;
  readonly sk: string;
  readonly renewTime: Millis;
  readonly seq: number;
}

/** Called before each request; may throw (a crash) or wait (a scheduler). */
export type RequestGate = (request: string) => Promise<void>;

const noGate: RequestGate = async () => {};

function keyOf(pk: string, sk: string): string {
  return `${pk}\u0000${sk}`;
}

/** The shared table: items, the history of committed writes, and the stream of changes. */
export class InMemoryTable {
  private readonly items = new Map<string, TableItem>();
  readonly history: CommittedWrite[] = [];
  readonly stream: DynamoDBRecord[] = [];
  private seq = 0;

  constructor(readonly clock: Clock) {}

  /** A CoordinatorStore over this table whose requests pass through `gate`. */
  store(gate: RequestGate = noGate): InMemoryStore {
    return new InMemoryStore(this, gate);
  }

  get(pk: string, sk: string): TableItem | undefined {
    const item = this.items.get(keyOf(pk, sk));
    return item === undefined ? undefined : structuredClone(item);
  }

  /** One partition, sorted by sort key, as a Query returns it. */
  query(pk: string): TableItem[] {
    return [...this.items.values()]
      .filter((item) => item.pk === pk)
      .sort((a, b) => (a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0))
      .map((item) => structuredClone(item));
  }

  partitions(): string[] {
    return [...new Set([...this.items.values()].map((item) => item.pk))];
  }

  /** Every heartbeat putHeartbeat stored: each of its writes that committed is one it returned for. */
  get accepted(): AcceptedHeartbeat[] {
    return this.history
      .filter((w) => w.method === 'putHeartbeat' && w.new !== undefined)
      .map((w) => ({ pk: w.pk, sk: w.sk, renewTime: (w.new as CandidateItem).renewTime, seq: w.seq }));
  }

  /** Commits `next` (undefined deletes) if `condition` holds for the current item. */
  commit(
    method: string,
    pk: string,
    sk: string,
    condition: (old: TableItem | undefined) => boolean,
    next: (old: TableItem | undefined) => TableItem | undefined,
    failed: (old: Record<string, unknown> | undefined) => Error,
  ): TableItem | undefined {
    const id = keyOf(pk, sk);
    const old = this.items.get(id);
    if (!condition(old)) throw failed(old === undefined ? undefined : (structuredClone(old) as never));
    const written = next(old === undefined ? undefined : structuredClone(old));
    if (written === undefined) this.items.delete(id);
    else this.items.set(id, structuredClone(written));
    this.seq++;
    const at = this.clock();
    this.history.push({ seq: this.seq, ordinal: nextOrdinal(), at, method, pk, sk, old, new: written });
    this.emit(pk, sk, old, written);
    return written === undefined ? undefined : structuredClone(written);
  }

  /** Like DynamoDB Streams (NEW_AND_OLD_IMAGES): one record per change; a write that changes nothing emits none. */
  private emit(pk: string, sk: string, old: TableItem | undefined, written: TableItem | undefined): void {
    if (old === undefined && written === undefined) return;
    if (old !== undefined && written !== undefined && JSON.stringify(old) === JSON.stringify(written)) return;
    const eventName = old === undefined ? 'INSERT' : written === undefined ? 'REMOVE' : 'MODIFY';
    const image = (item: TableItem) => marshall(item, { removeUndefinedValues: true }) as never;
    this.stream.push({
      eventID: String(this.seq),
      eventName,
      dynamodb: {
        Keys: { pk: { S: pk }, sk: { S: sk } },
        SequenceNumber: String(this.seq).padStart(21, '0'),
        ...(old !== undefined && { OldImage: image(old) }),
        ...(written !== undefined && { NewImage: image(written) }),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
  }
}

/** A copy without undefined attributes, as TableCalls writes (removeUndefinedValues). */
function defined<T extends object>(item: T): T {
  return Object.fromEntries(Object.entries(item).filter(([, value]) => value !== undefined)) as T;
}

/**
 * The CoordinatorStore port over the in-memory table. Like DynamoDbStore it decides nothing (the
 * planners do, in PlannedStore): each plan is one atomic step here, after its gate.
 */
export class InMemoryStore extends PlannedStore {
  constructor(
    private readonly table: InMemoryTable,
    private readonly gate: RequestGate,
  ) {
    super();
  }

  protected async execute(plan: WritePlan): Promise<Record<string, unknown> | undefined> {
    await this.gate(plan.request);
    refuseUndefinedValues(plan);
    const method = plan.request.split(':')[0] as string;
    let before: TableItem | undefined;
    const written = this.table.commit(
      method,
      plan.pk,
      plan.sk,
      (old) => {
        before = old;
        return plan.condition.all.every((clause) => holds(clause, old));
      },
      (old) => applied(plan, old),
      (old) => new ConditionFailedError(plan.condition.name, old, `${plan.request} ${plan.pk} ${plan.sk}`),
    );
    if (plan.kind !== 'update') return undefined;
    const returned = plan.returns === 'new' ? written : before;
    return returned === undefined ? undefined : { ...returned };
  }

  async loadLease(key: LeaseKey): Promise<LeaseState> {
    await this.gate('loadLease');
    return leaseStateFromItems(this.table.query(partitionKey(key)) as unknown as Record<string, unknown>[]);
  }

  /** One request per partition, as a Scan's pages are separate reads that others can write between. */
  async *scanLeases(): AsyncIterable<ScannedLease> {
    await this.gate('scanLeases');
    for (const pk of this.table.partitions()) {
      await this.gate('scanLeases');
      const items = this.table.query(pk);
      yield {
        key: leaseKeyFromPartition(pk),
        state: leaseStateFromItems(items as unknown as Record<string, unknown>[]),
      };
    }
  }
}

/** The item a plan leaves, from the item before it (undefined: none, or deleted). */
function applied(plan: WritePlan, old: TableItem | undefined): TableItem | undefined {
  if (plan.kind === 'delete') return undefined;
  if (plan.kind === 'put') return defined(plan.item) as TableItem;
  const next: Record<string, unknown> = { ...(old ?? { pk: plan.pk, sk: plan.sk }), ...plan.set };
  for (const attribute of plan.remove ?? []) delete next[attribute];
  if (plan.increment !== undefined) next[plan.increment] = Number(next[plan.increment] ?? 0) + 1;
  return next as unknown as TableItem;
}

/** A clause against the item as stored: a missing attribute compares false, as in DynamoDB. */
function holds(clause: Clause, item: TableItem | undefined): boolean {
  const attributes = item as Record<string, unknown> | undefined;
  if ('exists' in clause) return attributes?.[clause.exists] !== undefined;
  if ('missing' in clause) return attributes?.[clause.missing] === undefined;
  if ('anyOf' in clause) return clause.anyOf.some((c) => holds(c, item));
  const stored = attributes?.[clause.attribute];
  const value = clause.value;
  if (stored === undefined || typeof stored !== typeof value) return false;
  const [a, b] = [stored as number | string, value as number | string];
  switch (clause.is) {
    case '=':
      return a === b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

/**
 * DynamoDB refuses a request whose expression names a value that is undefined (the document
 * client drops undefined values) with a ValidationException, before any condition is checked:
 * the same request fails here the same way, not as a failed condition.
 */
function refuseUndefinedValues(plan: WritePlan): void {
  const values = (clauses: readonly Clause[]): unknown[] =>
    clauses.flatMap((c) => ('anyOf' in c ? values(c.anyOf) : 'value' in c ? [c.value] : []));
  const set = plan.kind === 'update' ? Object.values(plan.set) : [];
  if ([...values(plan.condition.all), ...set].includes(undefined))
    throw new Error(`${plan.request}: an expression attribute value is not defined`);
}
