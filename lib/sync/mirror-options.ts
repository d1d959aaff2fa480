import { holderHome } from '../coordinator/holder-home.js';
import { holderOf } from '../election/liveness.js';
import type { LeaseRecord, Millis } from '../election/types.js';
import type { ClusterPort } from '../ports/cluster.js';
import type { MirrorDeps } from '../ports/coordinator.js';
import type { LeaseKey } from '../ports/lease-key.js';
import type { StoredLease } from '../ports/store.js';
import {
  type ClusterLeaseView,
  type MirrorOptions,
  type MirrorPlan,
  planMirror,
  revokedInTerm,
} from './desired-lease.js';
import { keptFields } from './lease-fields.js';
import { observedOf, takenByAnother } from './lease-rules.js';
import type { MirroredDecision } from './withdrawn-revoke.js';

/**
 * What planMirror needs to know of one cluster for one decision: the fields the cluster keeps, and
 * whether the holder is revoked there (its own cluster, a holder asked to yield, and a preemption of
 * Revoke, or Auto where the cluster drops preferredHolder). `revokeAt` stamps a revoke (see
 * revokeStamp); our clock now when not given.
 *
 * Under Auto, a revoke of this term that the cluster's Lease (`current`) already shows is carried
 * on whatever this client has learned: each container learns what a cluster keeps from its own
 * first write there, and a new one would otherwise write the holder back over the revoke (letting
 * it renew), learn, and revoke again with a new stamp, starting the successor's wait over.
 */
export function mirrorOptions(
  deps: Pick<MirrorDeps, 'preemption' | 'clock'>,
  client: ClusterPort,
  key: LeaseKey,
  record: LeaseRecord,
  home: boolean,
  current: ClusterLeaseView | undefined,
  revokeAt?: Millis,
): MirrorOptions {
  const kept = keptFields(client);
  if (!home || record.preferredHolder === undefined || holderOf(record) === undefined) return { kept };
  const policy = deps.preemption?.(key, client.name) ?? 'Auto';
  const revoke =
    policy === 'Revoke' || (policy === 'Auto' && (!kept.preferredHolder || revokedInTerm(record, current)));
  return revoke ? { kept, revokeAt: revokeAt ?? (deps.clock ?? Date.now)() } : { kept };
}

/**
 * A decision's plan for one cluster, with its options: whether it revokes the holder there, and
 * whether it would take back our revoke of this term (write over it with something else). A Lease
 * that another elector holds (takenByAnother: live, whatever its stamp) is never written over, in any
 * cluster and whatever the decision (docs/design.md, rule 3): `held-by-another`, and the caller
 * records the holding. planMirror's own refusal of a lower term comes first.
 */
export function planCluster(
  deps: Pick<MirrorDeps, 'preemption' | 'clock'>,
  client: ClusterPort,
  key: LeaseKey,
  decision: MirroredDecision,
  view: ClusterLeaseView | undefined,
  revokeAt?: Millis,
): { plan: MirrorPlan; revoking: boolean; unrevoking: boolean } {
  const stored = decision.lease;
  const { record } = stored;
  const home = holderHome(key, decision, view) === client.name;
  const options = mirrorOptions(deps, client, key, record, home, view, revokeAt);
  const planned = planMirror(record, home, view, options);
  const taken = planned.write && view !== undefined && takenByAnother(observedOf(view), view, stored);
  const plan: MirrorPlan = taken ? { write: false, reason: 'held-by-another' } : planned;
  const revoking = options.revokeAt !== undefined;
  return { plan, revoking, unrevoking: plan.write && !revoking && revokedInTerm(record, view) };
}

/** When this process first saw a holder's renewal in the cluster being written (renewal-sightings.ts). */
export type RenewalSeen = (holder: string, renewTime: Millis) => Millis | undefined;

/** revokeStamp for a Lease in `cluster` read just now, with the sightings of the process the mirror runs in. */
export function revokeStampIn(
  deps: Pick<MirrorDeps, 'clock' | 'renewalSightings'>,
  cluster: string,
  key: LeaseKey,
  stored: StoredLease,
  current: ClusterLeaseView | undefined,
): Millis {
  return revokeStamp(stored, current, (deps.clock ?? Date.now)(), sightingsIn(deps, cluster, key));
}

/** The sightings of the process the mirror runs in, for one cluster and lease: none outside ingest. */
function sightingsIn(
  deps: Pick<MirrorDeps, 'renewalSightings'>,
  cluster: string,
  key: LeaseKey,
): RenewalSeen | undefined {
  const sightings = deps.renewalSightings;
  return sightings === undefined
    ? undefined
    : (holder, renewTime) => sightings.firstSeen(key, { cluster, holder, renewTime });
}

/**
 * The stamp of a revoke written over `current`, the holder's Lease as read (answered at `answered`,
 * our clock): no earlier than the holder's last renewal was committed, and no later than the read. The
 * revoke is a compare-and-set on the resourceVersion read, so the renewal `current` shows is the
 * holder's last; client-go's holder stops leading within RetryPeriod + RenewDeadline of its last
 * renewal's answer, so one lease duration from that renewal's commit is as safe as from the revoke,
 * and up to one retry period earlier (docs/clusters.md, "Preemption, and clusters that drop
 * preferredHolder").
 *
 * Where the mirror runs inside ingest (`sightings`), that renewal is dated at ingest's first sighting
 * of it, or at `answered` if its watch has not shown it yet. Elsewhere at `answered`: the holder's
 * renewTime says when its write began, on its own clock, and a slow write makes it seconds early
 * (docs/reliability.md, "Findings behind the code"). A Lease that does not show the holder's own
 * renewal (another holder, or a renewTime of ours: the record's, or any our write set, as
 * managedFields show): `answered`.
 */
export function revokeStamp(
  stored: StoredLease,
  current: ClusterLeaseView | undefined,
  answered: Millis,
  sightings?: RenewalSeen,
): Millis {
  const { record } = stored;
  const renewTime = current?.renewTime === undefined ? Number.NaN : Date.parse(current.renewTime);
  if (
    sightings === undefined ||
    current?.holderIdentity !== record.holderIdentity ||
    Number.isNaN(renewTime) ||
    renewTime === record.renewTime ||
    current?.renewTimeOurs === true
  )
    return answered;
  return Math.min(sightings(record.holderIdentity ?? '', renewTime) ?? answered, answered);
}
