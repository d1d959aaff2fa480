import pLimit from 'p-limit';

/**
 * Runs work for many keys at once and for one key in order, keeping only the newest pending work
 * per key. Watch events are level-based (each carries the whole object), so when ingest falls
 * behind, a holder's renewals in between are skipped instead of queued: one ordered queue per
 * cluster would cap ingest at a few dozen events a second, and leaders renewing every second or two
 * would be seen late enough to look expired (docs/reliability.md, "Findings behind the code").
 */
export class LatestPerKeyQueue {
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly pending = new Map<string, () => Promise<void>>();
  private readonly active = new Map<string, Promise<void>>();

  constructor(
    concurrency: number,
    private readonly onError: (error: unknown) => void,
  ) {
    this.limit = pLimit(concurrency);
  }

  push(key: string, work: () => Promise<void>): void {
    this.pending.set(key, work);
    if (!this.active.has(key)) this.start(key);
  }

  /**
   * Forgets the work not yet started (a stopping ingest: the next run lists those objects again).
   * Work already running finishes; idle() still waits for it.
   */
  dropPending(): void {
    this.pending.clear();
  }

  /** Resolves once nothing is pending or running. */
  async idle(): Promise<void> {
    while (this.active.size > 0) await Promise.all(this.active.values());
  }

  private start(key: string): void {
    const run = this.limit(async () => {
      for (let next = this.pending.get(key); next !== undefined; next = this.pending.get(key)) {
        this.pending.delete(key);
        try {
          await next();
        } catch (error) {
          this.onError(error);
        }
      }
    }).finally(() => {
      this.active.delete(key);
      // Work pushed between the loop's last look and here would otherwise wait for the next push.
      if (this.pending.has(key)) this.start(key);
    });
    this.active.set(key, run);
  }
}
