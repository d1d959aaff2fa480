import type { RawObject, WatchPhase } from '../ports/cluster.js';
import { type HandledVersions, idOf } from './handled-versions.js';
import { LatestPerKeyQueue } from './latest-per-key-queue.js';

/** Objects of one cluster handled at once; each object's own events stay in order. */
const INGEST_CONCURRENCY = 16;

/**
 * One list-and-watch's events, listed and watched alike, in one queue: objects in parallel, each
 * object's events in order, only its newest pending one kept. An event that could not be stored
 * (the table throttled, say) is not dropped: the queue is marked failed and the watches are
 * stopped, so that a relist reads it again.
 */
export class IngestQueue {
  private readonly queue: LatestPerKeyQueue;
  private failedOnce = false;
  private onFailure = () => {};

  constructor(
    private readonly signal: AbortSignal,
    private readonly handled: HandledVersions,
    logFailure: (error: unknown) => void,
  ) {
    this.queue = new LatestPerKeyQueue(INGEST_CONCURRENCY, (error) => {
      logFailure(error);
      this.failedOnce = true;
      this.onFailure();
    });
  }

  /** An event was not stored: the list-and-watch must end in a relist. */
  get failed(): boolean {
    return this.failedOnce;
  }

  /** What to do when an event fails (stop the watches); set once the watches have started. */
  whenFailed(stop: () => void): void {
    this.onFailure = stop;
  }

  push(kind: string, object: RawObject, work: () => Promise<unknown>, phase?: WatchPhase): void {
    // A stopping run takes nothing more on: the next run lists it again.
    if (this.signal.aborted) return;
    const id = idOf(kind, object);
    const rv = object.metadata?.resourceVersion;
    this.queue.push(id, async () => {
      this.handled.started(id);
      await work();
      this.handled.done(kind, id, rv, phase);
    });
  }

  /** A listed object: skipped when its latest event was handled at this very resourceVersion. */
  pushListed(kind: string, object: RawObject, work: () => Promise<unknown>): void {
    if (!this.handled.unchanged(kind, object)) this.push(kind, object, work);
  }

  dropPending(): void {
    this.queue.dropPending();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }
}
