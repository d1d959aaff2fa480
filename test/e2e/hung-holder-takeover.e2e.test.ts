/**
 * A lease group that chose `TakeOver` (docs/clusters.md) whose holder's apiserver hangs: SIGSTOP,
 * so every request to it times out instead of being refused. The takeover must happen while it
 * hangs, after one request timeout, not ping the successor again round after round (each round
 * waited out the timeout, by which time the successor's proof of life had lapsed).
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CandidateProcess, overlaps, until } from '../../lib/harness/candidates.js';
import {
  type CoordinatedClusters,
  startCoordinatedClusters,
} from '../../lib/harness/coordinated-clusters.js';
import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import type { LocalCoordinator } from '../../lib/local/local-coordinator.js';
import { Notifier } from '../helpers/local-stack.js';

const LEASE = 'hung-holder';
const KEY = { scope: 'alpha+beta', namespace: 'default', name: LEASE };
const TIMINGS = ['--lease-duration=5s', '--renew-deadline=3s', '--retry-period=1s'];

/** A ping the coordinator recorded on `candidate`, as the table's stream shows it. */
function isPingOf(record: DynamoDBRecord, candidate: string): boolean {
  const image = record.dynamodb?.NewImage;
  return image?.change?.S === 'ping' && image.name?.S === candidate;
}

describe('TakeOver behind a hung holder cluster (e2e: DynamoDB Local + 2 kube-apiservers + client-go processes)', () => {
  let clusters: CoordinatedClusters;
  let coordinator: LocalCoordinator;
  let alpha: ControlPlane;
  let beta: ControlPlane;
  const records: DynamoDBRecord[] = [];
  const processes: CandidateProcess[] = [];
  const ingested = new Notifier();

  const candidate = (identity: string, plane: ControlPlane, emulationVersion: string) => {
    const p = new CandidateProcess(identity, clusters.candidateBinary, [
      `--kubeconfig=${clusters.adminKubeconfig}`,
      `--context=${plane.name}`,
      `--lease=${LEASE}`,
      '--binary-version=1.35.0',
      `--emulation-version=${emulationVersion}`,
      ...TIMINGS,
    ]);
    processes.push(p);
    return p;
  };

  beforeAll(async () => {
    clusters = await startCoordinatedClusters(
      ['alpha', 'beta'],
      [
        {
          namespace: 'default',
          name: LEASE,
          clusters: ['alpha', 'beta'],
          holderClusterUnreachable: 'TakeOver',
        },
      ],
      // No minute sweep: one that fell in the hang would ping b-one once more, beside the step's
      // own ping loop, which is what the ping-round count is about.
      { observe: (record) => records.push(record), onIngest: () => ingested.notify(), sweepEveryMs: 0 },
    );
    [alpha, beta] = clusters.planes as [ControlPlane, ControlPlane];
    ({ coordinator } = clusters);
  }, 600_000);

  afterAll(async () => {
    alpha?.thawApiserver();
    await Promise.all(processes.map((p) => p.stop()));
    await clusters?.stop();
  });

  it('takes over while the holder’s apiserver hangs, after one timed-out read, with at most one ping round for it', async () => {
    const holder = candidate('a-one', alpha, '1.34.0');
    await until(processes, () => holder.leading);
    const successor = candidate('b-one', beta, '1.35.0');
    // b-one is on record before the holder's cluster hangs (waited for event by event).
    for (let round = 0; round < 300; round++) {
      const next = ingested.next();
      const { candidates } = await coordinator.deps.store.loadLease(KEY);
      if (candidates.some((c) => c.name === 'b-one')) break;
      await next;
    }
    expect((await coordinator.deps.store.loadLease(KEY)).candidates.map((c) => c.name)).toContain('b-one');
    const termBefore = (await coordinator.deps.store.loadLease(KEY)).lease?.record.term ?? 0;
    const recordsBefore = records.length;

    alpha.freezeApiserver();
    // a-one cannot renew and steps down at its renew deadline; b-one is made leader while alpha still hangs.
    await until(processes, () => !holder.leading && successor.leading);

    const { lease } = await coordinator.deps.store.loadLease(KEY);
    expect(lease?.record.holderIdentity).toBe('b-one');
    expect(lease?.record.term).toBe(termBefore + 1);
    // The pre-ping before the holder's deadline, and at most one more: not a ping every round.
    const pingRounds = records.slice(recordsBefore).filter((r) => isPingOf(r, 'b-one')).length;
    expect(pingRounds).toBeLessThanOrEqual(2);
    expect(overlaps(processes)).toEqual([]);
  }, 180_000);
});
