import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { formatMicroTime } from '../../lib/api/time.js';
import { Apiserver } from '../../lib/kube/apiserver.js';
import { kube } from '../../lib/kube-local/admin.js';
import type { ControlPlane } from '../../lib/kube-local/control-plane.js';
import { createTable, LOCAL_TABLE } from '../../lib/local/table.js';
import type { TrialBench } from '../kube-env.js';
import { createCandidate, deleteCandidate } from '../kube-objects.js';

export interface PairedSamples {
  readonly ours: number[];
  readonly baseline: number[];
}

/**
 * Election latency: a LeaseCandidate is created → the Lease shows it as holder, timed by this
 * process (the create is sent at t0; the Lease watch event arrives at t1). Trials alternate
 * between our apiserver and the in-tree one so both see the same machine load, and each starts
 * once ours has handled the previous trial's removal (bench/settle.ts): one election at a time, on
 * a quiet machine, as the floor's terms are timed.
 */
export async function measureElection(bench: TrialBench, trials: number): Promise<PairedSamples> {
  const ours: number[] = [];
  const baseline: number[] = [];
  const ourPlane = bench.ours[0] as ControlPlane;
  // One warm-up trial each, not counted: the first pays for JIT and new connections on both sides.
  await electOnce(bench, ourPlane, 'elect-warmup');
  await electOnce(bench, bench.inTree, 'elect-warmup');
  for (let trial = 0; trial < trials; trial++) {
    ours.push(await electOnce(bench, ourPlane, `elect-${trial}`));
    baseline.push(await electOnce(bench, bench.inTree, `elect-${trial}`));
  }
  return { ours, baseline };
}

async function electOnce(bench: TrialBench, plane: ControlPlane, lease: string): Promise<number> {
  const watch = bench.watches.get(plane.name);
  if (watch === undefined) throw new Error(`no watch on ${plane.name}`);
  const name = `${lease}-a`;
  const shown = watch.waitFor(lease, (l) => l.holderIdentity === name);
  const t0 = Date.now();
  await createCandidate(plane, name, lease, { binary: '1.35.0', emulation: '1.35.0' });
  const t1 = await shown;
  // No process renews these: remove the candidate so neither coordinator keeps pinging it.
  await deleteCandidate(plane, name);
  if (plane !== bench.inTree) await bench.removalSettled(plane, lease, name);
  return t1 - t0;
}

/**
 * The part of an election's floor that the in-tree controller does not pay: a conditional write to
 * DynamoDB Local, timed alone (one at a time, after the trials, in the same run). Ours does two
 * (the candidate's, then the decision's) besides the in-tree controller's work, so in-tree p50 +
 * 2 × this p50 is the floor our p50 is judged against (docs/benchmark.md). A table of its own in the
 * same emulator, defined as the coordinator's is (stream on), so nothing of the coordinator sees it.
 */
export async function measureConditionalWrites(client: DynamoDBClient, writes: number): Promise<number[]> {
  const table = `${LOCAL_TABLE}-write-floor`;
  await createTable(client, table);
  const samples: number[] = [];
  for (let i = 0; i < writes; i++) {
    const t0 = performance.now();
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: { pk: { S: `floor-${i}` }, sk: { S: 'CANDIDATE' }, renewTime: { N: String(Date.now()) } },
        // As the candidate's create-first write is conditioned.
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    samples.push(performance.now() - t0);
  }
  return samples;
}

/** A namespace of its own: the Leases timed there belong to no election, and are removed after. */
const CREATE_FLOOR_NAMESPACE = 'bench-create-floor';

/**
 * The third term of the election's floor: one Lease create, timed alone against one of our own
 * apiservers (one at a time, after the trials, in the same run), as the mirror makes it for a
 * lease nobody holds yet. Sent over one kept-alive connection with the coordinator's credentials,
 * as the mirror's own client sends it (a fresh TLS handshake per create would time the handshake).
 */
export async function measureLeaseCreates(bench: TrialBench, creates: number): Promise<number[]> {
  const plane = bench.ours[0] as ControlPlane;
  const created = await kube(plane, 'POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: CREATE_FLOOR_NAMESPACE },
  });
  if (created.status !== 201 && created.status !== 409)
    throw new Error(`creating namespace ${CREATE_FLOOR_NAMESPACE}: ${created.status}`);
  const apiserver = new Apiserver({
    name: plane.name,
    server: new URL(plane.server),
    tls: { ca: Buffer.from(plane.caData), rejectUnauthorized: true },
    token: async () => plane.coordinatorToken,
  });
  const leases = `/apis/coordination.k8s.io/v1/namespaces/${CREATE_FLOOR_NAMESPACE}/leases`;
  const samples: number[] = [];
  for (let i = 0; i < creates; i++) {
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: `floor-${i}` },
      spec: { holderIdentity: 'floor', leaseDurationSeconds: 15, renewTime: formatMicroTime(Date.now()) },
    };
    const t0 = performance.now();
    await apiserver.call('POST', leases, { body: lease });
    samples.push(performance.now() - t0);
  }
  for (let i = 0; i < creates; i++) await kube(plane, 'DELETE', `${leases}/floor-${i}`);
  return samples;
}
