import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
  type _Record as StreamRecord,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { type FilterPattern, matchesAny } from './event-filter.js';

export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined>;

export interface StreamRunnerOptions {
  readonly client: DynamoDBStreamsClient;
  readonly streamArn: string;
  readonly handler: StreamHandler;
  /** The deployed event-source filter patterns. */
  readonly filters: readonly FilterPattern[];
  readonly batchSize?: number;
  /** Retries of a failing batch before its records are dropped (as maximumRetryAttempts). */
  readonly maxRetries?: number;
  /** As bisectBatchOnFunctionError: a batch whose invocation fails is retried in halves. */
  readonly bisectOnError?: boolean;
  /** As maximumRecordAgeInSeconds: older records are dropped unhandled (-1 or unset: no limit). */
  readonly maxRecordAgeSeconds?: number;
  /** Records dropped unhandled (retries spent, or too old): what goes to the on-failure destination. */
  readonly onDiscard?: (records: readonly DynamoDBRecord[], reason: 'retries' | 'age') => void;
  /** Sees every record, filtered or not (the live view). */
  readonly observe?: (record: DynamoDBRecord) => void;
  readonly onError?: (error: unknown) => void;
  /**
   * As the event source mapping's startingPosition, which counts when it is created: `LATEST` reads
   * the shards open at the first pass from their newest record on (shards that open later, from
   * their start). Default `TRIM_HORIZON`.
   */
  readonly startingPosition?: 'TRIM_HORIZON' | 'LATEST';
}

interface ShardState {
  readonly shardId: string;
  readonly parentShardId?: string;
  /** Sequence number of the last record handed over successfully. */
  checkpoint?: string;
  iterator?: string;
  finished: boolean;
  failures: number;
  /** Read from the newest record on (startingPosition LATEST), until a record is read. */
  fromLatest: boolean;
  /** The first record read from a shard read from LATEST: where a retry before any checkpoint starts. */
  firstRead?: string;
  /** Records to read next: the batch size, or less while a failed batch is being bisected. */
  limit?: number;
  /** The last record of the batch being bisected: the halves stay small until it is handled. */
  bisectEnd?: string;
}

/**
 * Delivers a DynamoDB Local stream to a handler the way a Lambda event source mapping does:
 * shards in parent-before-child order, Lambda-shaped batches, filter patterns, checkpoints, and
 * retry from the first failed record of a partial batch failure. `drain()` returns once every
 * record written so far has been handled, so tests await it instead of sleeping.
 */
export class StreamRunner {
  private readonly shards = new Map<string, ShardState>();
  /** How many times the handler was invoked, and with how many records: what Lambda would bill. */
  readonly invocations = { batches: 0, records: 0 };
  private polling: Promise<number> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private passes = 0;

  constructor(private readonly options: StreamRunnerOptions) {}

  /** Polls every 250 ms, as Lambda's poller does (4 per second per shard). */
  start(intervalMs = 250): void {
    const tick = () => {
      this.pollOnce()
        .catch((error: unknown) => this.options.onError?.(error))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Polls no more; resolves once the pass under way, if any, has handed over what it read. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling?.catch(() => undefined);
  }

  /** Handles everything written so far, including records that handling itself writes. */
  async drain(): Promise<void> {
    while ((await this.pollOnce()) > 0) {
      // keep going until a full pass over every shard reads nothing
    }
  }

  /** One pass over every readable shard. Returns how many records it read. Never runs twice at once. */
  pollOnce(): Promise<number> {
    if (this.polling === undefined) {
      this.polling = this.pass().finally(() => {
        this.polling = undefined;
      });
      return this.polling;
    }
    // A pass is under way: wait for it, then run a fresh one so the caller sees current data.
    return this.polling.then(() => this.pollOnce());
  }

  private async pass(): Promise<number> {
    await this.refreshShards();
    this.passes++;
    let read = 0;
    for (const shard of this.shards.values()) {
      if (shard.finished || !this.parentDone(shard)) continue;
      read += await this.readShard(shard);
    }
    return read;
  }

  private parentDone(shard: ShardState): boolean {
    const parent = shard.parentShardId === undefined ? undefined : this.shards.get(shard.parentShardId);
    return parent === undefined || parent.finished;
  }

  private async refreshShards(): Promise<void> {
    let exclusiveStartShardId: string | undefined;
    do {
      const out = await this.options.client.send(
        new DescribeStreamCommand({
          StreamArn: this.options.streamArn,
          ExclusiveStartShardId: exclusiveStartShardId,
        }),
      );
      for (const shard of out.StreamDescription?.Shards ?? []) this.track(shard);
      exclusiveStartShardId = out.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId !== undefined);
  }

  private track(shard: Shard): void {
    if (shard.ShardId === undefined || this.shards.has(shard.ShardId)) return;
    this.shards.set(shard.ShardId, {
      shardId: shard.ShardId,
      ...(shard.ParentShardId !== undefined && { parentShardId: shard.ParentShardId }),
      fromLatest: this.options.startingPosition === 'LATEST' && this.passes === 0,
      finished: false,
      failures: 0,
    });
  }

  private async iteratorFor(shard: ShardState): Promise<string | undefined> {
    if (shard.iterator !== undefined) return shard.iterator;
    const out = await this.options.client.send(
      new GetShardIteratorCommand({
        StreamArn: this.options.streamArn,
        ShardId: shard.shardId,
        ...position(shard),
      }),
    );
    shard.iterator = out.ShardIterator;
    return shard.iterator;
  }

  private async readShard(shard: ShardState): Promise<number> {
    let read = 0;
    for (;;) {
      const iterator = await this.iteratorFor(shard);
      if (iterator === undefined) {
        shard.finished = true;
        return read;
      }
      let records: StreamRecord[];
      try {
        const out = await this.options.client.send(
          new GetRecordsCommand({
            ShardIterator: iterator,
            Limit: shard.limit ?? this.options.batchSize ?? 100,
          }),
        );
        records = out.Records ?? [];
        shard.iterator = out.NextShardIterator;
        if (out.NextShardIterator === undefined) shard.finished = records.length === 0;
      } catch (error) {
        if (error instanceof ExpiredIteratorException || error instanceof TrimmedDataAccessException) {
          shard.iterator = undefined;
          continue;
        }
        throw error;
      }
      if (records.length === 0) return read;
      if (shard.fromLatest) shard.firstRead ??= records[0]?.dynamodb?.SequenceNumber;
      read += records.length;
      await this.deliver(
        shard,
        records.map((r) => this.toLambdaRecord(r)),
      );
    }
  }

  private async deliver(shard: ShardState, records: DynamoDBRecord[]): Promise<void> {
    for (const record of records) this.options.observe?.(record);
    const fresh = this.dropTooOld(records);
    const wanted = fresh.filter((r) => matchesAny(this.options.filters, r));
    let failedAt: string | undefined;
    let threw = false;
    if (wanted.length > 0) {
      this.invocations.batches++;
      this.invocations.records += wanted.length;
      try {
        const response = await this.options.handler({ Records: wanted });
        failedAt = lowestSequence(response?.batchItemFailures.map((f) => f.itemIdentifier) ?? []);
      } catch (error) {
        this.options.onError?.(error);
        failedAt = wanted[0]?.dynamodb?.SequenceNumber;
        threw = true;
      }
    }
    if (failedAt !== undefined && shard.failures < (this.options.maxRetries ?? 5)) {
      // Retry from the first failed record: checkpoint just before it and re-read.
      shard.failures++;
      if (threw && this.options.bisectOnError === true && records.length > 1) {
        shard.limit = Math.ceil(records.length / 2);
        shard.bisectEnd ??= records[records.length - 1]?.dynamodb?.SequenceNumber;
      }
      const index = records.findIndex((r) => r.dynamodb?.SequenceNumber === failedAt);
      const before = index > 0 ? records[index - 1]?.dynamodb?.SequenceNumber : shard.checkpoint;
      if (before === undefined) delete shard.checkpoint;
      else shard.checkpoint = before;
      shard.iterator = undefined;
      return;
    }
    if (failedAt !== undefined) {
      const index = wanted.findIndex((r) => r.dynamodb?.SequenceNumber === failedAt);
      this.options.onDiscard?.(wanted.slice(Math.max(0, index)), 'retries');
    }
    shard.failures = 0;
    const last = records[records.length - 1]?.dynamodb?.SequenceNumber;
    if (last !== undefined) shard.checkpoint = last;
    if (shard.bisectEnd === undefined || (last !== undefined && BigInt(last) >= BigInt(shard.bisectEnd))) {
      delete shard.limit;
      delete shard.bisectEnd;
    }
  }

  /** Records past the maximum record age are dropped before any invocation, as Lambda does. */
  private dropTooOld(records: DynamoDBRecord[]): DynamoDBRecord[] {
    const maxAge = this.options.maxRecordAgeSeconds ?? -1;
    if (maxAge < 0) return records;
    const oldest = Date.now() / 1000 - maxAge;
    const tooOld = records.filter((r) => (r.dynamodb?.ApproximateCreationDateTime ?? oldest) < oldest);
    if (tooOld.length === 0) return records;
    this.options.onDiscard?.(tooOld, 'age');
    return records.filter((r) => !tooOld.includes(r));
  }

  private toLambdaRecord(record: StreamRecord): DynamoDBRecord {
    const data = record.dynamodb ?? {};
    const known =
      record.eventName === 'INSERT' || record.eventName === 'MODIFY' || record.eventName === 'REMOVE';
    return {
      eventID: record.eventID,
      // DynamoDB Local reports TTL deletions with an unknown event name and no identity; AWS
      // reports REMOVE by the DynamoDB service. Normalise to AWS's shape.
      eventName: known ? (record.eventName as DynamoDBRecord['eventName']) : 'REMOVE',
      eventVersion: record.eventVersion,
      eventSource: 'aws:dynamodb',
      awsRegion: record.awsRegion,
      eventSourceARN: this.options.streamArn,
      ...(!known && { userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } }),
      dynamodb: {
        ...(data.ApproximateCreationDateTime !== undefined && {
          ApproximateCreationDateTime: Math.floor(data.ApproximateCreationDateTime.getTime() / 1000),
        }),
        Keys: data.Keys as never,
        ...(data.NewImage !== undefined && { NewImage: data.NewImage as never }),
        ...(data.OldImage !== undefined && { OldImage: data.OldImage as never }),
        SequenceNumber: data.SequenceNumber,
        SizeBytes: data.SizeBytes,
        StreamViewType: data.StreamViewType,
      },
    } as DynamoDBRecord;
  }
}

function lowestSequence(sequenceNumbers: readonly string[]): string | undefined {
  return [...sequenceNumbers].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0))[0];
}

/** Where a shard's new iterator starts: after the checkpoint, else at its first record read, else its start. */
function position(shard: ShardState) {
  if (shard.checkpoint !== undefined)
    return { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: shard.checkpoint } as const;
  if (shard.firstRead !== undefined)
    return { ShardIteratorType: 'AT_SEQUENCE_NUMBER', SequenceNumber: shard.firstRead } as const;
  return { ShardIteratorType: shard.fromLatest ? 'LATEST' : 'TRIM_HORIZON' } as const;
}
