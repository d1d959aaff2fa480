import type { Logger } from '@aws-lambda-powertools/logger';
import { PREFERRED_HOLDER_ANNOTATION } from '../api/lease.js';
import type { LeaseRecord } from '../election/types.js';
import type { ClusterPort, RawObject } from '../ports/cluster.js';
import type { MirrorDeps } from '../ports/coordinator.js';
import { clustersOf, type LeaseKey } from '../ports/lease-key.js';
import { noMetrics } from '../ports/metrics.js';
import type { LeaseState } from '../ports/store.js';
import {
  annotationsFor,
  type ClusterLeaseView,
  coordinationPatch,
  type MirrorPlan,
  viewOf,
} from './desired-lease.js';
import { type LeaseWrite, leaseEventFor, recordLeaseEvent } from './lease-events.js';
import { keptFields, learnKeptFields } from './lease-fields.js';
import { observedOf } from './lease-rules.js';
import { planCluster, revokeStampIn } from './mirror-options.js';
import { awaitingPing, removeGoneCandidates, sendPings } from './mirror-pings.js';
import { recordTakenLease } from './taken-lease.js';
import { beforeUnrevoke, type MirroredDecision, preferenceTakenBack } from './withdrawn-revoke.js';

export type ClusterOutcome =
  | 'created'
  | 'replaced'
  | 'in-sync'
  | 'newer-term'
  | 'released'
  | 'unreachable'
  | 'conflict'
  /** Another elector's live holder holds the Lease here: not written over; recorded (takenByAnother). */
  | 'held-by-another'
  /** The holder is taken off its Lease here while it is preempted by revoke (docs/clusters.md). */
  | 'revoked';

/** A lost resourceVersion race means someone wrote in between: read again and decide again. */
const CONFLICT_RETRIES = 3;

/**
 * mirror: writes a lease's decision into every cluster of its scope and sends its pings to the
 * candidates' own clusters. Each cluster is handled on its own, so one that cannot be reached
 * holds up nothing in the others; it is caught up on its next change or sweep.
 */
export async function mirrorLease(
  deps: MirrorDeps,
  key: LeaseKey,
  /** The state a decision just wrote, to skip reading it back (see decideAndMirror). */
  known?: LeaseState,
): Promise<Record<string, ClusterOutcome>> {
  const started = performance.now();
  const state = known ?? (await deps.store.loadLease(key));
  const loadedMs = Math.round(performance.now() - started);
  const tally: MirrorTally = { outcomes: {}, pinged: [], pingsGone: [], pingsFailed: [] };
  await Promise.all(clustersOf(key).map((cluster) => mirrorCluster(deps, key, state, cluster, tally)));
  const metrics = deps.metrics ?? noMetrics;
  for (const [cluster, outcome] of Object.entries(tally.outcomes))
    if (outcome === 'unreachable' || outcome === 'conflict') metrics.record('MirrorFailures', 1, cluster);
    else if (outcome === 'held-by-another') metrics.record('MirrorHeldByAnother', 1, cluster);
  deps.logger.debug('mirrored', {
    lease: key,
    ...tally,
    loadedMs,
    durationMs: Math.round(performance.now() - started),
  });
  return tally.outcomes;
}

/**
 * What one mirror pass did, cluster by cluster: each cluster's outcome, the pings sent, those whose
 * candidate was deleted meanwhile (removed from the table), and those not delivered.
 */
interface MirrorTally {
  readonly outcomes: Record<string, ClusterOutcome>;
  readonly pinged: string[];
  readonly pingsGone: string[];
  readonly pingsFailed: string[];
}

/** One cluster of a pass: its Lease brought to the decision, then its candidates' pings sent. */
async function mirrorCluster(
  deps: MirrorDeps,
  key: LeaseKey,
  state: LeaseState,
  cluster: string,
  tally: MirrorTally,
): Promise<void> {
  const candidates = state.candidates.filter((c) => c.cluster === cluster);
  const loadedAt = (deps.clock ?? Date.now)();
  try {
    const client = await deps.clusters.get(cluster);
    if (state.lease !== undefined) {
      tally.outcomes[cluster] = await mirrorInto(
        deps,
        client,
        key,
        { lease: state.lease, candidates: state.candidates, loadedAt },
        () => (deps.metrics ?? noMetrics).record('MirrorWrites', 1, cluster),
      );
    } else {
      tally.outcomes[cluster] = 'in-sync';
    }
    const pings = await sendPings(deps.logger, key, client, candidates);
    tally.pinged.push(...pings.sent);
    tally.pingsGone.push(...pings.gone.map((c) => c.name));
    tally.pingsFailed.push(...pings.failed);
    await removeGoneCandidates(deps, key, cluster, pings.gone);
  } catch (error) {
    deps.logger.warn('cluster unreachable; it is caught up later', {
      cluster,
      lease: key,
      error: error as Error,
    });
    tally.outcomes[cluster] = 'unreachable';
    const unsent = awaitingPing(candidates);
    if (unsent.length > 0) {
      deps.logger.error('ping not delivered', { cluster, lease: key, candidates: unsent.map((c) => c.name) });
      tally.pingsFailed.push(...unsent.map((c) => c.name));
    }
  }
}

/** A decision as the table holds it, with the candidates it ranked (for the Event's note). */
type Decision = MirroredDecision;

async function mirrorInto(
  deps: MirrorDeps,
  client: ClusterPort,
  key: LeaseKey,
  held: Decision,
  /** Called for each Lease write that went in. */
  onWrite: () => void,
): Promise<ClusterOutcome> {
  let decision = held;
  /** The decision read again before taking a revoke back (beforeUnrevoke). */
  let reloaded = false;
  /** The decision read again after a preference landed late (preferenceTakenBack). */
  let rechecked = false;
  /** Set once a write went in, so a pass that then learns what the cluster keeps still reports it. */
  let wrote: ClusterOutcome | undefined;
  /** The Lease before our first write, and what the last write put there: the Event tells the change. */
  let before: RawObject | undefined;
  let written: LeaseWrite | undefined;
  const done = async (outcome: ClusterOutcome): Promise<ClusterOutcome> => {
    if (written !== undefined)
      await recordLeaseEvent(
        deps.logger,
        client,
        key,
        leaseEventFor(key, written, decision.lease.record, decision.candidates, (deps.clock ?? Date.now)()),
      );
    return outcome;
  };
  for (let attempt = 0; attempt <= CONFLICT_RETRIES; attempt++) {
    const current = await client.readLease({ namespace: key.namespace, name: key.name });
    if (wrote === undefined) before = current;
    const view = current === undefined ? undefined : viewOf(current);
    const stamp = revokeStampIn(deps, client.name, key, decision.lease, view);
    const { plan, revoking, unrevoking } = planCluster(deps, client, key, decision, view, stamp);
    if (!plan.write)
      return done(await unwritten(deps, client, key, { decision, view, plan, revoking, wrote }));
    const again = await beforeUnrevoke(deps, key, decision, unrevoking ? view : undefined, reloaded);
    if (again !== undefined) {
      reloaded = true;
      decision = again;
      continue;
    }
    const result = await writePlan(client, key, current, plan);
    if (!result.ok) continue;
    onWrite();
    wrote = current === undefined ? 'created' : 'replaced';
    written = writtenBy(plan, before, result.object);
    if (learnKeptFields(client, plan.spec, result.object) && warnFieldsDropped(deps.logger, client, key))
      continue;
    const newer = rechecked ? undefined : await preferenceTakenBack(deps, key, decision, plan);
    if (newer !== undefined) {
      rechecked = true;
      decision = newer;
      continue;
    }
    return done(revoking ? warnRevoked(deps.logger, client, key, decision.lease.record) : wrote);
  }
  return done(wrote ?? 'conflict');
}

/** A pass that comes to no write in a cluster, and why. */
interface Unwritten {
  readonly decision: Decision;
  readonly view: ClusterLeaseView | undefined;
  readonly plan: Extract<MirrorPlan, { write: false }>;
  readonly revoking: boolean;
  /** What an earlier write of the pass did, if one went in. */
  readonly wrote: ClusterOutcome | undefined;
}

/**
 * What a pass that writes nothing more comes to. A live holder another elector took is recorded as
 * the holding (as ingest records it), so the usual rules take over without waiting for ingest to
 * see it, nor depending on ingest running at all; a record that moved on meanwhile loses the write.
 */
async function unwritten(
  deps: MirrorDeps,
  client: ClusterPort,
  key: LeaseKey,
  { decision, view, plan, revoking, wrote }: Unwritten,
): Promise<ClusterOutcome> {
  if (plan.reason === 'held-by-another' && view !== undefined)
    await recordTakenLease(
      deps,
      key,
      client.name,
      observedOf(view),
      decision.lease,
      (deps.clock ?? Date.now)(),
    ).catch((error: unknown) =>
      // The table's failure, not the cluster's: the Lease is left as it is all the same, and the
      // cluster's pings still go. The holder renews, so ingest records it, or the next pass does.
      deps.logger.error('cannot record the holder another elector took; the next pass or ingest records it', {
        cluster: client.name,
        lease: key,
        error: error as Error,
      }),
    );
  if (revoking && plan.reason === 'in-sync') return 'revoked';
  return wrote ?? plan.reason;
}

/** What a write put into the Lease, and what was there before our first write of the pass. */
function writtenBy(
  plan: Extract<MirrorPlan, { write: true }>,
  before: RawObject | undefined,
  stored: RawObject | undefined,
): LeaseWrite {
  return {
    before,
    holder: plan.spec.holderIdentity,
    preferredHolder: plan.preferredHolder,
    term: plan.term,
    stored,
  };
}

/**
 * A cluster that dropped a field we sent keeps none of it: the pass plans again knowing that (in a
 * cluster that drops preferredHolder, a preemption then goes by revoke). Returns true: plan again.
 */
function warnFieldsDropped(logger: Logger, client: ClusterPort, key: LeaseKey): true {
  logger.warn('the cluster drops Lease fields it does not serve; they are no longer compared there', {
    cluster: client.name,
    lease: key,
    kept: keptFields(client),
  });
  return true;
}

function warnRevoked(logger: Logger, client: ClusterPort, key: LeaseKey, record: LeaseRecord): 'revoked' {
  logger.warn('the holder’s cluster cannot carry preferredHolder: the holder is revoked', {
    lease: key,
    cluster: client.name,
    holder: record.holderIdentity,
    preferredHolder: record.preferredHolder,
    term: record.term,
  });
  return 'revoked';
}

/** One write of a plan: create, a guarded patch that leaves a live holder's fields alone, or a replace. */
function writePlan(
  client: ClusterPort,
  key: LeaseKey,
  current: RawObject | undefined,
  plan: Extract<MirrorPlan, { write: true }>,
) {
  const { [PREFERRED_HOLDER_ANNOTATION]: _dropped, ...kept } = annotationsOf(current);
  const metadata = {
    ...(current?.metadata ?? {}),
    namespace: key.namespace,
    name: key.name,
    annotations: { ...kept, ...annotationsFor(plan) },
  };
  const lease: RawObject = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec: plan.spec };
  if (current === undefined) return client.createLease(lease);
  const patch = plan.holderKeeps ? coordinationPatch(current, plan) : undefined;
  return patch !== undefined ? client.patchLease(key, patch) : client.replaceLease(lease);
}

function annotationsOf(lease: RawObject | undefined): Record<string, string> {
  return lease?.metadata?.annotations ?? {};
}
