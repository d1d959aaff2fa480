import { setTimeout as sleep } from 'node:timers/promises';
import type { Millis } from '../election/types.js';
import type { LeaseKey } from '../ports/lease-key.js';
import {
  alignColumns,
  listDocument,
  type OutputFormat,
  STATUS_HEADER,
  serialize,
  statusObject,
  statusRow,
  statusTable,
} from './format.js';
import { type LeaseStatus, leaseStatus } from './lease-view.js';
import type { TableAccess } from './table-access.js';

/** Every lease in the table, sorted by scope, namespace and name, judged at `now`. */
export async function readStatuses(access: TableAccess, now: Millis): Promise<LeaseStatus[]> {
  const statuses: LeaseStatus[] = [];
  for await (const scanned of access.store.scanLeases()) {
    // A partition the scan could not show whole is read whole.
    const state = scanned.state ?? (await access.store.loadLease(scanned.key));
    const [last] = await access.history.recent(scanned.key);
    statuses.push(leaseStatus(scanned.key, state, last, now));
  }
  return statuses.sort((a, b) => order(a).localeCompare(order(b)));
}

function order(key: LeaseKey): string {
  return `${key.scope}\u0000${key.namespace}\u0000${key.name}`;
}

export function renderStatuses(statuses: readonly LeaseStatus[], format: OutputFormat, now: Millis): string {
  if (format === 'table') return statusTable(statuses, now);
  return serialize(listDocument(statuses.map(statusObject)), format);
}

/** How often `--watch` reads the table again. */
export const WATCH_EVERY_MS = 2_000;

export interface WatchOptions {
  readonly format: OutputFormat;
  readonly write: (text: string) => void;
  readonly clock: () => Millis;
  readonly signal: AbortSignal;
  readonly everyMs?: Millis;
}

/**
 * `status --watch`, as `kubectl get --watch` does it: everything once, then one more row (or
 * object) each time a lease changes in the table (its record, its number of candidates, its last
 * decision), until interrupted. Ages and standings are those of the moment a row is printed.
 */
export async function watchStatuses(access: TableAccess, options: WatchOptions): Promise<void> {
  const { format, write, clock, signal } = options;
  const shown = new Map<string, string>();
  let first = true;
  while (!signal.aborted) {
    const now = clock();
    const changed = (await readStatuses(access, now)).filter((status) => {
      const id = order(status);
      const signature = storedSignature(status);
      if (shown.get(id) === signature) return false;
      shown.set(id, signature);
      return true;
    });
    if (first) write(`${renderStatuses(changed, format, now)}\n`);
    else if (changed.length > 0) write(`${renderChanges(changed, format, now)}\n`);
    first = false;
    await sleep(options.everyMs ?? WATCH_EVERY_MS, undefined, { signal }).catch(() => undefined);
  }
}

/** What a lease shows of the table: time to expiry and live/stale move with the clock, not with it. */
function storedSignature(status: LeaseStatus): string {
  const { candidates, lastDecision, holder, holderCluster, term, preferredHolder } = status;
  return JSON.stringify([
    holder,
    holderCluster,
    term,
    preferredHolder,
    lastDecision,
    candidates.live + candidates.stale + candidates.pinged,
  ]);
}

function renderChanges(changed: readonly LeaseStatus[], format: OutputFormat, now: Millis): string {
  if (format === 'json') return changed.map((s) => JSON.stringify(statusObject(s))).join('\n');
  if (format === 'yaml') return changed.map((s) => `---\n${serialize(statusObject(s), 'yaml')}`).join('\n');
  // The rows alone, aligned as if under the header printed first.
  const rows = [[...STATUS_HEADER], ...changed.map((s) => statusRow(s, now))];
  return alignColumns(rows).split('\n').slice(1).join('\n');
}
