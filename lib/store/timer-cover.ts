import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Millis } from '../election/types.js';
import type { Clock, TimerCover } from '../ports/schedule.js';
import { COVER_PK, COVER_SK } from './keys.js';
import { TableCalls } from './table-calls.js';

/** The attribute that holds one cluster's cover: until when, on the coordinator's clock. */
const UNTIL_PREFIX = 'until#';

/**
 * How long a cover read is trusted while every cluster it named is still covered. A cover's end
 * only ever comes from a run that promised it, so a value read earlier is as good as one read now
 * (a run that died since broke its promise either way); reading again only finds clusters newly
 * covered, or covers extended after one lapsed.
 */
const REREAD_AFTER_MS = 5_000;
/** Where a cover read showed a cluster lapsed (or none at all): the next read comes this soon. */
const REREAD_LAPSED_AFTER_MS = 1_000;

/**
 * Ingest's timer cover in the coordinator's table (docs/design.md, "Timers kept by ingest"): one
 * item, `pk = COVER#timers`, with one attribute per cluster, the time until which a live ingest run
 * has promised to keep that cluster's held leases' own deadlines. Not a lease: scans pass over it
 * and no stream filter wakes on it. Writes are plain (no condition): overlapping runs each write
 * their own promise, and whichever came last stands, each one a promise a live run made.
 */
export class TableTimerCover implements TimerCover {
  private readonly calls: TableCalls;
  private cache: { readonly at: Millis; readonly until: ReadonlyMap<string, Millis> } | undefined;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {
    this.calls = new TableCalls(client);
  }

  async coveredClusters(now: Millis): Promise<ReadonlySet<string>> {
    if (this.cache === undefined || this.stale(this.cache, now)) this.cache = await this.read();
    return new Set([...this.cache.until].filter(([, until]) => until > now).map(([cluster]) => cluster));
  }

  async extend(clusters: readonly string[], until: Millis): Promise<void> {
    if (clusters.length === 0) return;
    const names = Object.fromEntries(clusters.map((cluster, i) => [`#c${i}`, `${UNTIL_PREFIX}${cluster}`]));
    await this.calls.update({
      TableName: this.tableName,
      Key: { pk: COVER_PK, sk: COVER_SK },
      UpdateExpression: `SET #kind = :kind, ${clusters.map((_, i) => `#c${i} = :until`).join(', ')}`,
      ExpressionAttributeNames: { '#kind': 'kind', ...names },
      ExpressionAttributeValues: { ':kind': 'cover', ':until': until },
    });
  }

  private stale(cache: NonNullable<typeof this.cache>, now: Millis): boolean {
    const age = this.clock() - cache.at;
    const lapsed = cache.until.size === 0 || [...cache.until.values()].some((until) => until <= now);
    return age >= (lapsed ? REREAD_LAPSED_AFTER_MS : REREAD_AFTER_MS);
  }

  /**
   * Eventually consistent (half a read unit): an older cover is one a run also promised. A Query of
   * its partition, which every decider may already send (infra/iam.yml), not a GetItem.
   */
  private async read(): Promise<{ at: Millis; until: ReadonlyMap<string, Millis> }> {
    const at = this.clock();
    const items = await this.calls.query({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': COVER_PK },
    });
    const until = new Map<string, Millis>();
    for (const [name, value] of Object.entries(items[0] ?? {}))
      if (name.startsWith(UNTIL_PREFIX) && typeof value === 'number')
        until.set(name.slice(UNTIL_PREFIX.length), value);
    return { at, until };
  }
}
