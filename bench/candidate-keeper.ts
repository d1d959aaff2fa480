import pLimit from 'p-limit';
import { CANDIDATE_REFRESH_MS } from '../lib/election/timing.js';

/** A candidate renewed longer ago than this is renewed again: two thirds of the way to its refresh. */
const RENEW_AFTER_MS = (CANDIDATE_REFRESH_MS * 2) / 3;
const LOOK_EVERY_MS = 30_000;
const IN_FLIGHT = 8;

/**
 * Keeps the bench's LeaseCandidates renewed while a long setup runs, as client-go's candidates keep
 * themselves (they renew every 5 minutes, so the coordinator never pings a live one for its
 * 15-minute refresh). The bench's candidates otherwise renew only when timed or pinged: a setup
 * longer than 15 minutes (10,000 leases here) then meets a refresh ping per candidate, each a
 * timer's look, a ping, its answer and their records, at the rate it registered them
 * (docs/benchmark.md). A renewal is one write into the cluster and one into the table.
 */
export class CandidateKeeper {
  private readonly renewedAt = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private busy?: Promise<void>;
  private failure?: unknown;
  /** Renewals made, for the progress lines. */
  renewals = 0;

  constructor(private readonly renew: (name: string) => Promise<void>) {}

  /** `name` renewed (or was created) at `at`. */
  renewed(name: string, at = Date.now()): void {
    this.renewedAt.set(name, at);
  }

  /** Those of `names` last renewed before `cutoff` (or never, as far as the keeper knows). */
  renewedBefore(names: readonly string[], cutoff: number): string[] {
    return names.filter((name) => (this.renewedAt.get(name) ?? Number.NEGATIVE_INFINITY) < cutoff);
  }

  /** Looks every 30 s for candidates due a renewal, until stop(). */
  start(): void {
    this.timer ??= setInterval(() => {
      this.busy ??= this.renewDue().finally(() => {
        this.busy = undefined;
      });
    }, LOOK_EVERY_MS);
    this.timer.unref();
  }

  /** Stops looking once the renewals under way are done; throws the first that failed. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.busy;
    if (this.failure !== undefined) throw this.failure;
  }

  private async renewDue(): Promise<void> {
    const cutoff = Date.now() - RENEW_AFTER_MS;
    const due = [...this.renewedAt].filter(([, at]) => at < cutoff).map(([name]) => name);
    const limit = pLimit(IN_FLIGHT);
    await Promise.all(
      due.map((name) =>
        limit(async () => {
          await this.renew(name);
          this.renewed(name);
          this.renewals++;
        }),
      ),
    ).catch((error: unknown) => {
      this.failure ??= error;
    });
  }
}
