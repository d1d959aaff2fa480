import type { ScannedLease } from '../ports/store.js';
import { leaseStateFromItems } from './items.js';
import { LEASE_PK_PREFIX, leaseKeyFromPartition } from './keys.js';

/**
 * Turns a table scan's items into one entry per lease partition. A Scan returns a partition's
 * items together, in sort-key order, even across page boundaries, so a run of equal `pk`s is the
 * whole partition. Should a partition ever show up again after another one, it is yielded again
 * without a state, which tells the sweep to read it whole rather than judge it from a fragment.
 * Items that are not a lease's (the sweep's lock) are passed over.
 */
export async function* groupByPartition(
  items: AsyncIterable<Record<string, unknown>>,
): AsyncIterable<ScannedLease> {
  const seen = new Set<string>();
  let pk: string | undefined;
  let run: Record<string, unknown>[] = [];
  const flush = (): ScannedLease | undefined => {
    if (pk === undefined) return undefined;
    const key = leaseKeyFromPartition(pk);
    const entry = seen.has(pk) ? { key } : { key, state: leaseStateFromItems(run) };
    seen.add(pk);
    return entry;
  };
  for await (const item of items) {
    const itemPk = String(item.pk);
    if (!itemPk.startsWith(LEASE_PK_PREFIX)) continue;
    if (itemPk !== pk) {
      const entry = flush();
      if (entry !== undefined) yield entry;
      pk = itemPk;
      run = [];
    }
    run.push(item);
  }
  const last = flush();
  if (last !== undefined) yield last;
}
