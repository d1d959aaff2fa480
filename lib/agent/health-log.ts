import type { Millis } from '../election/types.js';

/** A log line to write: its message and fields. */
export interface LogLine {
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** A long outage repeats its line this often, with a count, instead of once per health check. */
export const UNHEALTHY_REPEAT_MS: Millis = 60_000;

/**
 * What to say about the program's health, given `now`: a line when it turns unhealthy, whenever a
 * refused write differs from the last one told (a ping arrives, the problem changes), once a minute
 * while nothing changes, and one when it recovers. The health check itself runs every second.
 */
export class HealthLog {
  private since: Millis | undefined;
  private refused = 0;
  private told: { key: string; at: Millis } | undefined;

  refusedWrite(now: Millis, action: string, reason: string, problem: string): LogLine | undefined {
    this.since ??= now;
    this.refused++;
    const key = `${action}\u0000${reason}\u0000${problem}`;
    if (this.told !== undefined && this.told.key === key && now - this.told.at < UNHEALTHY_REPEAT_MS)
      return undefined;
    this.told = { key, at: now };
    return {
      message: 'not renewing: the program is unhealthy',
      fields: { action, reason, problem, refused: this.refused, unhealthyForMs: now - this.since },
    };
  }

  healthy(now: Millis): LogLine | undefined {
    if (this.since === undefined) return undefined;
    const line = {
      message: 'the program is healthy again',
      fields: { refused: this.refused, unhealthyForMs: now - this.since },
    };
    this.since = undefined;
    this.refused = 0;
    this.told = undefined;
    return line;
  }
}
