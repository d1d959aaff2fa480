import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiStatusError } from '../../lib/kube/apiserver.js';
import { KubeCluster } from '../../lib/kube/cluster.js';

/**
 * ClusterPort's watch contract: however it ends, `onDone` is called, so ingest lists again. One the
 * apiserver refuses ends the same way as one that breaks later, not as a rejected promise nobody awaits.
 */
describe('KubeCluster.watch (unit: a local HTTP server playing the apiserver)', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url?.includes('leasecandidates')) {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', reason: 'Forbidden' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.includes('resourceVersion=compacted')) {
        const gone = { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410 };
        res.write(`${JSON.stringify({ type: 'ERROR', object: gone })}\n`);
        res.write(
          `${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'b', namespace: 'ns' } } })}\n`,
        );
        res.end();
        return;
      }
      res.write(
        `${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', namespace: 'ns' } } })}\n`,
      );
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const cluster = () =>
    new KubeCluster('alpha', { name: 'ctx', server: new URL(url), tls: { rejectUnauthorized: true } });

  it('ends a watch the apiserver refuses through onDone, with the refusal', async () => {
    let ended: unknown;
    const controller = await cluster().watch(
      'leasecandidates',
      'v1beta1',
      '1',
      () => undefined,
      (error) => {
        ended = error;
      },
    );
    expect(controller.signal.aborted).toBe(true);
    expect(ended).toBeInstanceOf(ApiStatusError);
    expect((ended as ApiStatusError).code).toBe(403);
  });

  it('delivers each event as an object of its kind, then ends through onDone', async () => {
    const events: unknown[] = [];
    const done = new Promise<unknown>((resolve) => {
      void cluster().watch('leases', 'v1', '1', (phase, object) => events.push({ phase, object }), resolve);
    });
    expect(await done).toBeNull();
    expect(events).toEqual([
      {
        phase: 'ADDED',
        object: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: 'a', namespace: 'ns' },
        },
      },
    ]);
  });

  it('ends a watch with the Status of an ERROR event (410: too old a resourceVersion), delivering it as no object', async () => {
    const events: unknown[] = [];
    const done = new Promise<unknown>((resolve) => {
      void cluster().watch(
        'leases',
        'v1',
        'compacted',
        (phase, object) => events.push({ phase, object }),
        resolve,
      );
    });
    const ended = await done;
    expect(ended).toBeInstanceOf(ApiStatusError);
    expect((ended as ApiStatusError).code).toBe(410);
    expect(events).toEqual([]);
  });
});
