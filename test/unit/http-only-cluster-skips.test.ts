import type { DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handleMirrorBatch } from '../../lib/handlers/mirror.js';
import { clusterSweepPass } from '../../lib/sync/cluster-sweep.js';
import { twoClusters } from '../helpers/two-clusters.js';

const EDGE = { scope: 'edge', namespace: 'kube-system', name: 'kube-scheduler' };
const pk = `LEASE#${EDGE.scope}/${EDGE.namespace}/${EDGE.name}`;
const decision: DynamoDBStreamEvent = {
  Records: [
    {
      eventName: 'MODIFY',
      dynamodb: {
        Keys: { pk: { S: pk }, sk: { S: 'LEASE' } },
        NewImage: { pk: { S: pk }, sk: { S: 'LEASE' }, kind: { S: 'lease' }, change: { S: 'decision' } },
        SequenceNumber: '1',
      },
    },
  ],
};

describe('leases of an HTTP-only cluster in the mirror and the sweep (unit: in-memory table)', () => {
  it('are left alone: no client is asked for and nothing fails', async () => {
    const { deps } = twoClusters();
    const asked: string[] = [];
    const mirrorDeps = {
      ...deps,
      clusters: {
        get: (name: string) => {
          asked.push(name);
          return deps.clusters.get(name);
        },
      },
    };
    const httpOnly = (cluster: string) => cluster === 'edge';
    expect(await handleMirrorBatch(mirrorDeps, decision, undefined, httpOnly)).toEqual({
      batchItemFailures: [],
    });
    await clusterSweepPass(mirrorDeps, deps.clock, httpOnly)(EDGE);
    expect(asked).toEqual([]);
    // Without the predicate the same mirror pass asks for edge's client (and finds none).
    await handleMirrorBatch(mirrorDeps, decision);
    expect(asked).toEqual(['edge']);
  });
});
