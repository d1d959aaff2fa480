import type { DecisionRecord } from '../election/decision-record.js';
import type { Millis } from '../election/types.js';
import type { LeaseKey } from './lease-key.js';

/**
 * The short record each decision leaves, kept for a bounded time (TTL) and in a bounded number per
 * lease (a ring of slots), for `cli explain`. Best-effort: a record that cannot be stored is
 * logged and the decision stands (docs/design.md, "Decision history").
 */
export interface DecisionHistory {
  /**
   * Takes the lease's next record number. A number taken and never used (the record's own write
   * failed, or never came) is skipped, which leaves an older record in that slot.
   */
  reserve(key: LeaseKey, now: Millis): Promise<number>;
  /** Stores a record under its number, over the oldest one kept; never over a newer one. */
  append(key: LeaseKey, seq: number, record: DecisionRecord): Promise<void>;
  /** The records kept for a lease, the latest decision first (by its time, not its number). */
  recent(key: LeaseKey): Promise<DecisionRecord[]>;
}

/** How much history is kept: records per lease (0: none) and for how long. */
export interface HistoryRetention {
  readonly perLease: number;
  readonly retentionMs: Millis;
}

export const DEFAULT_HISTORY_RETENTION: HistoryRetention = {
  perLease: 10,
  retentionMs: 7 * 24 * 3600_000,
};
