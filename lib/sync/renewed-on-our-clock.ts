import { renewalOnOurClock } from '../election/liveness.js';
import type { Millis } from '../election/types.js';
import type { LeaseObservation, StoredLease } from '../ports/store.js';

/**
 * When the recorded holder's listed renewal happened, on our clock (renewalOnOurClock), where that is
 * before now. A new ingest run lists a Lease whose last renewal the run before kept unrecorded,
 * perhaps seconds ago by a holder that has died since: recorded at the list's time, the holder's
 * deadline moved that much later, and so did its failover (up to a lease duration at each run's start).
 */
export function renewedOnOurClock(
  stored: StoredLease | undefined,
  holder: string,
  renewTime: Millis,
  now: Millis,
): Pick<LeaseObservation, 'renewedAt'> {
  if (stored === undefined || holder === '' || holder !== stored.record.holderIdentity) return {};
  const renewedAt = renewalOnOurClock(
    { recordedAt: stored.record.renewTime, renewTime: stored.observedRenewTime },
    renewTime,
    now,
  );
  return renewedAt < now ? { renewedAt } : {};
}
