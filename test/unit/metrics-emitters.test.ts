import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { AuthenticationError, ForbiddenError } from '../../lib/errors.js';
import { handleSweep } from '../../lib/handlers/sweep.js';
import { anyCaller } from '../../lib/http/callers.js';
import { handleHeartbeat } from '../../lib/http/heartbeat-api.js';
import type { CallerCheck } from '../../lib/ports/http.js';
import { runClusterIngest } from '../../lib/sync/ingest-runner.js';
import { mirrorLease } from '../../lib/sync/mirror.js';
import { capturedEmf, sums, values } from '../helpers/emf-capture.js';
import { candidate } from '../helpers/local-stack.js';
import { singleCluster } from '../helpers/single-cluster.js';

/** A cluster "c", a lease, and an EMF adapter read back from stdout. */
function world() {
  const single = singleCluster();
  const emf = capturedEmf();
  return { ...single, ...emf, deps: { ...single.deps, metrics: emf.metrics } };
}

describe('mirror metrics (unit: in-memory cluster, EMF from stdout)', () => {
  it('counts each Lease write into a cluster once, and a cluster left behind as a failure', async () => {
    const { deps, key, heartbeat, invocation, lines } = world();
    await heartbeat('a', '1.31.0');
    await reconcileLease(deps, key);
    await invocation(() => mirrorLease(deps, key));
    // In sync now: a second pass writes nothing.
    await invocation(() => mirrorLease(deps, key));
    expect(sums(lines, 'MirrorWrites')).toEqual({ c: 1, '': 1 });
    expect(sums(lines, 'MirrorFailures')).toEqual({});

    const unreachable = { ...deps, clusters: { get: () => Promise.reject(new Error('connect ETIMEDOUT')) } };
    await invocation(() => mirrorLease(unreachable, key));
    expect(sums(lines, 'MirrorFailures')).toEqual({ c: 1, '': 1 });
    expect(sums(lines, 'MirrorWrites')).toEqual({ c: 1, '': 1 });
  });
});

describe('heartbeat rejections (unit: handleHeartbeat, EMF from stdout)', () => {
  const NOW = Date.UTC(2026, 6, 1, 12);

  function post(cluster: string, body: unknown): APIGatewayProxyEventV2 {
    return {
      pathParameters: { cluster },
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2;
  }

  it('counts each rejected heartbeat once, by the Status reason it is answered with, and no accepted one', async () => {
    const { deps, invocation, lines } = world();
    const serve = (callers: CallerCheck, event: APIGatewayProxyEventV2) =>
      handleHeartbeat({ ...deps, callers }, event);
    const fresh = candidate('a', { binary: '1.31.0', emulation: '1.31.0' }, NOW);
    const older = candidate('a', { binary: '1.31.0', emulation: '1.31.0' }, NOW - 1_000);
    const answers: number[] = [];
    await invocation(async () => {
      for (const [callers, event] of [
        [anyCaller, post('c', fresh)],
        [anyCaller, post('Not_A_Cluster', fresh)],
        [anyCaller, post('c', '{"kind":')],
        [anyCaller, post('c', older)],
        [
          () => {
            throw new AuthenticationError('no credential');
          },
          post('c', fresh),
        ],
        [
          () => {
            throw new ForbiddenError('another cluster');
          },
          post('c', fresh),
        ],
      ] as const)
        answers.push((await serve(callers, event)).statusCode ?? 0);
    });
    expect(answers).toEqual([201, 400, 400, 409, 401, 403]);
    expect(sums(lines, 'HeartbeatsRejected')).toEqual({
      Invalid: 2,
      Conflict: 1,
      Unauthorized: 1,
      Forbidden: 1,
      '': 5,
    });
  });
});

describe('ingest metrics (unit: in-memory cluster, EMF from stdout)', () => {
  it('times each watch event from its arrival to its change stored, and counts an event it could not store', async () => {
    const { deps, table, cluster, invocation, lines, advance } = world();
    let failNext = false;
    const store = table.store(async (request) => {
      if (!request.startsWith('putHeartbeat')) return;
      if (failNext) {
        failNext = false;
        throw new Error('throttled');
      }
      // The write waits 30 ms on the test clock: the lag the metric shows.
      advance(30);
    });
    const port = cluster.port();
    let deliver: (object: Record<string, unknown>) => void = () => {};
    const watching = new Promise<void>((resolve) => {
      port.watch = async (path, _version, _rv, onEvent) => {
        if (path === 'leasecandidates') {
          deliver = (object) => onEvent('MODIFIED', object);
          resolve();
        }
        return new AbortController();
      };
    });
    let handled: () => void = () => {};
    const next = () =>
      new Promise<void>((resolve) => {
        handled = resolve;
      });
    const renew = () =>
      cluster.heartbeat({
        namespace: 'kube-system',
        name: 'a',
        leaseName: 'solo',
        binaryVersion: '1.31.0',
        emulationVersion: '1.31.0',
        strategy: 'OldestEmulationVersion',
      });
    const renewAndDeliver = () => {
      renew();
      deliver(cluster.get('LeaseCandidate', { namespace: 'kube-system', name: 'a' }) ?? {});
    };
    const stop = new AbortController();
    // Listed first (a listed object has no arrival to time), then renewed twice through the watch.
    renew();
    await invocation(async () => {
      const listed = next();
      const running = runClusterIngest(
        { ...deps, store, clusters: { get: async () => port } },
        'c',
        stop.signal,
        {
          onEvent: () => handled(),
        },
      );
      await Promise.all([watching, listed]);
      for (let i = 0; i < 2; i++) {
        const stored = next();
        renewAndDeliver();
        await stored;
      }
      // The table refuses the third: ingest counts it and lists again.
      failNext = true;
      const relisted = next();
      renewAndDeliver();
      await relisted;
      stop.abort();
      await running;
    });
    expect(values(lines, 'IngestLag')).toEqual({ c: [30, 30], '': [30, 30] });
    expect(sums(lines, 'IngestErrors')).toEqual({ c: 1, '': 1 });
  });
});

describe('the sweep’s leaderless leases (unit: in-memory table, EMF from stdout)', () => {
  it('reports on every sweep how many leases someone stands for have no live holder, and since how long', async () => {
    const { deps, key, heartbeat, invocation, lines, advance } = world();
    await invocation(() => handleSweep(deps));
    // An empty table: zeros, so that an alarm sees a value each minute.
    expect(values(lines, 'LeasesWithoutLiveHolder')).toEqual({ '': [0] });
    expect(values(lines, 'LongestWithoutLiveHolder')).toEqual({ '': [0] });

    await heartbeat('a', '1.31.0');
    await reconcileLease(deps, key);
    await invocation(() => handleSweep(deps));
    expect(values(lines, 'LeasesWithoutLiveHolder')).toEqual({ '': [0, 0] });

    // The holder goes silent and nobody else stands: 65 s past its deadline, the sweep says so.
    advance(5_000 + 65_000);
    await heartbeat('a', '1.31.0');
    await invocation(() => handleSweep(deps));
    expect(values(lines, 'LeasesWithoutLiveHolder')['']?.at(-1)).toBe(1);
    expect(values(lines, 'LongestWithoutLiveHolder')['']?.at(-1)).toBe(65);
  });

  it('reports nothing from a sweep whose scan fails: the stalled-coordinator alarm counts finished sweeps', async () => {
    const { deps, invocation, lines } = world();
    const refused = new Error('AccessDeniedException: dynamodb:Scan');
    const store = new Proxy(deps.store, {
      get: (target, name, receiver) =>
        name === 'scanLeases'
          ? async function* () {
              yield* [];
              throw refused;
            }
          : Reflect.get(target, name, receiver),
    });
    await expect(invocation(() => handleSweep({ ...deps, store }))).rejects.toBe(refused);
    expect(values(lines, 'LongestWithoutLiveHolder')).toEqual({});
    await invocation(() => handleSweep(deps));
    expect(values(lines, 'LongestWithoutLiveHolder')).toEqual({ '': [0] });
  });
});
