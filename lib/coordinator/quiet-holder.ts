import { isLeaseExpired } from '../election/liveness.js';
import type { Millis } from '../election/types.js';
import { onConditionFailed } from '../errors.js';
import { isLeaseAbsent } from '../ports/cluster.js';
import type { CoordinatorDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import { renewedOnOurClock, renewedSince } from './confirm-takeover.js';
import { lateHolder } from './holder-deadlines.js';

/**
 * Records the last renewal of a holder that has gone quiet, once ingest's own look at its pre-ping
 * has been taken: ingest records one renewal in three (docs/design.md, "Renewals kept by ingest"),
 * so that renewal is often not on record. Left so, both deciders at the deadline (ingest's kept look
 * and the lease's timer) each found it on the holder's Lease, recorded it, lost a compare-and-set
 * to the other and decided again before the takeover: a read, a Lease read and a write more in
 * every failover, which ten failovers at once queue behind each other (docs/benchmark-history.md,
 * "Stop 44"). Read here, between the pre-ping and the deadline, off the queue of ingest's steps
 * (IngestDeadlines' afterStep), and dated at ingest's first sighting as the takeover check dates it,
 * the record is the truth by the deadline, and both deciders judge the same record. It costs a
 * table read after each of ingest's kept steps, which come only for a holder that stopped renewing,
 * a lease first seen in a run, or a late holder's next look, and a Lease read for a late one.
 *
 * Only an optimization: the takeover check still reads the holder's Lease first, so a failure here
 * is logged and changes nothing else.
 */
export async function recordQuietHolderRenewal(deps: CoordinatorDeps, key: LeaseKey): Promise<void> {
  const read = deps.readHolderLease;
  if (read === undefined) return;
  try {
    const state = await deps.store.loadLease(key);
    const stored = state.lease;
    const now = deps.clock();
    const late = lateHolder(state, now);
    // A holder asked to yield may be revoked (its Lease then shows our placeholder, nothing to record),
    // and one that yields by itself releases: only a holder that went quiet on its own is read.
    if (stored === undefined || late === undefined || stored.record.preferredHolder !== undefined) return;
    if (isLeaseExpired(stored.record, now)) return;
    const seen = await read(late.holderCluster, key);
    if (seen === undefined || isLeaseAbsent(seen) || seen.holderIdentity !== late.holder) return;
    if (!renewedSince(stored, seen)) return;
    const answered: Millis = deps.clock();
    const renewedAt = renewedOnOurClock(deps, key, seen, answered);
    await deps.store
      .observeLease(key, { ...seen, renewedAt, current: true }, stored, answered)
      .catch(onConditionFailed(undefined));
  } catch (error) {
    deps.logger.debug('cannot record a quiet holder’s last renewal; the takeover check will', {
      lease: key,
      error: error as Error,
    });
  }
}
