import type { Logger } from '@aws-lambda-powertools/logger';
import { TERM_ANNOTATION } from '../api/lease.js';
import { formatMicroTime } from '../api/time.js';
import {
  type CoordinatorStore,
  clustersOf,
  type LeaseKey,
  type LeaseState,
  type StoredCandidate,
} from '../coordinator/ports.js';
import type { LeaseRecord } from '../election/types.js';
import type { ClusterPort, RawObject } from '../kube/cluster.js';
import { coordinationPatch, planMirror, viewOf } from './desired-lease.js';

/** Where the coordinator finds a registered cluster's client. */
export interface ClusterSource {
  get(name: string): Promise<ClusterPort>;
}

export interface MirrorDeps {
  readonly store: CoordinatorStore;
  readonly clusters: ClusterSource;
  readonly logger: Logger;
}

export type ClusterOutcome =
  | 'created'
  | 'replaced'
  | 'in-sync'
  | 'newer-term'
  | 'released'
  | 'unreachable'
  | 'conflict';

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
  const outcomes: Record<string, ClusterOutcome> = {};
  const pinged: string[] = [];
  await Promise.all(
    clustersOf(key).map(async (cluster) => {
      try {
        const client = await deps.clusters.get(cluster);
        if (state.lease !== undefined) {
          const home = (state.lease.record.holderCluster ?? clustersOf(key)[0]) === cluster;
          outcomes[cluster] = await mirrorInto(client, key, state.lease.record, home);
        } else {
          outcomes[cluster] = 'in-sync';
        }
        pinged.push(
          ...(await sendPings(
            client,
            state.candidates.filter((c) => c.cluster === cluster),
          )),
        );
      } catch (error) {
        deps.logger.warn('cluster unreachable; it is caught up later', {
          cluster,
          lease: key,
          error: error as Error,
        });
        outcomes[cluster] = 'unreachable';
      }
    }),
  );
  deps.logger.debug('mirrored', {
    lease: key,
    outcomes,
    pinged,
    loadedMs,
    durationMs: Math.round(performance.now() - started),
  });
  return outcomes;
}

async function mirrorInto(
  client: ClusterPort,
  key: LeaseKey,
  record: LeaseRecord,
  home: boolean,
): Promise<ClusterOutcome> {
  const ref = { namespace: key.namespace, name: key.name };
  for (let attempt = 0; attempt <= CONFLICT_RETRIES; attempt++) {
    const current = await client.readLease(ref);
    const plan = planMirror(record, home, current === undefined ? undefined : viewOf(current));
    if (!plan.write) return plan.reason;
    const metadata = {
      ...(current?.metadata ?? {}),
      namespace: key.namespace,
      name: key.name,
      annotations: { ...annotationsOf(current), [TERM_ANNOTATION]: String(plan.term) },
    };
    const patch = plan.holderKeeps && current !== undefined ? coordinationPatch(current, plan) : undefined;
    const lease: RawObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata,
      spec: plan.spec,
    };
    const result =
      current === undefined
        ? await client.createLease(lease)
        : patch !== undefined
          ? await client.patchLease(ref, patch)
          : await client.replaceLease(lease);
    if (result.ok) return current === undefined ? 'created' : 'replaced';
  }
  return 'conflict';
}

function annotationsOf(lease: RawObject | undefined): Record<string, string> {
  return lease?.metadata?.annotations ?? {};
}

/**
 * A ping is a pingTime just after the candidate's own last renewTime, on its own clock. client-go
 * renews when pingTime is after renewTime; using its clock means a candidate whose clock is behind
 * ours does not keep re-acking until its clock catches up. Whether it answered is judged on our
 * clock, by when its renewal reaches the table.
 */
async function sendPings(client: ClusterPort, candidates: readonly StoredCandidate[]): Promise<string[]> {
  const waiting = candidates.filter((c) => c.pingTime !== undefined && c.awaitingAck === true);
  await Promise.all(
    waiting.map((c) =>
      client.pingCandidate(
        c.apiVersion,
        { namespace: c.namespace, name: c.name },
        formatMicroTime(c.sentRenewTime + 1),
      ),
    ),
  );
  return waiting.map((c) => c.name);
}
