import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ClosedLoopHeartbeats, ceilingOf, type Phase } from '../../bench/load-baseline.js';
import type { KeepAliveClient } from '../../bench/load-client.js';
import { bodyAround, HEARTBEAT_PATH, LOAD_CLUSTER } from '../../bench/load-generator.js';
import { anyCaller } from '../../lib/http/callers.js';
import { handleHeartbeat } from '../../lib/http/heartbeat-api.js';
import type { HttpRouteDeps } from '../../lib/ports/http.js';
import type { CoordinatorStore, HeartbeatResult } from '../../lib/ports/store.js';
import { configPolicies } from '../../lib/wiring/policies.js';

const NOW = 1_764_000_000_000;

/** Deps whose store records every putHeartbeat call and answers it at once. */
function recordingDeps() {
  const calls: Parameters<CoordinatorStore['putHeartbeat']>[] = [];
  const putHeartbeat = async (...args: Parameters<CoordinatorStore['putHeartbeat']>) => {
    calls.push(args);
    const [key, cluster, heartbeat, now] = args;
    const result: HeartbeatResult = {
      created: false,
      candidate: {
        ...heartbeat,
        cluster,
        leaseName: key.name,
        creationTimestamp: now,
        renewTime: now,
        sentRenewTime: heartbeat.renewTime,
      },
    };
    return result;
  };
  const deps = {
    store: { putHeartbeat } as unknown as CoordinatorStore,
    clock: () => NOW,
    logger: new Logger({ logLevel: 'SILENT' }),
    leases: configPolicies(undefined, anyCaller).leases,
    callers: anyCaller,
  } satisfies HttpRouteDeps;
  return { deps, calls };
}

/** The load generator's POST, as the local API Gateway adapter hands it to the handler. */
function heartbeatEvent(candidate: number, renewTime: number): APIGatewayProxyEventV2 {
  const [head, tail] = bodyAround(candidate);
  return {
    version: '2.0',
    routeKey: 'POST /clusters/{cluster}/leasecandidates',
    rawPath: HEARTBEAT_PATH,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    pathParameters: { cluster: LOAD_CLUSTER },
    body: `${head}${new Date(renewTime).toISOString()}${tail}`,
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

const phase = (perSecond: number): Phase => ({
  perSecond,
  writes: perSecond * 10,
  seconds: 10,
  inFlight: 64,
  cpuPerWrite: { node: 1, jvm: 1 },
});

describe('the load bench’s table-alone baseline (unit)', () => {
  it('writes exactly what the HTTP heartbeat writes: the same store call, key, cluster and candidate', async () => {
    const http = recordingDeps();
    const renewTime = NOW - 5_000;
    const answer = await handleHeartbeat(http.deps, heartbeatEvent(4, renewTime));
    expect(answer.statusCode).toBe(200);

    const table = recordingDeps();
    const lastSent = new Float64Array(6).fill(renewTime - 1);
    const lastAcked = new Float64Array(6);
    const beats = new ClosedLoopHeartbeats(
      table.deps,
      {} as KeepAliveClient,
      HEARTBEAT_PATH,
      lastSent,
      lastAcked,
      0,
    );
    await beats.table(4);

    expect(table.calls).toHaveLength(1);
    const [viaHttp] = http.calls;
    const [alone] = table.calls;
    // Only renewTime is the sender's (a candidate's clock); the table alone takes the next one.
    expect(alone?.[2].renewTime).toBeGreaterThan(renewTime - 1);
    expect({ ...alone?.[2], renewTime: 0 }).toEqual({ ...viaHttp?.[2], renewTime: 0 });
    expect(alone?.slice(0, 2)).toEqual(viaHttp?.slice(0, 2));
    expect(alone?.[3]).toBe(viaHttp?.[3]);
    expect(alone?.[4]).toEqual(viaHttp?.[4]);
    expect(lastAcked[4]).toBe(alone?.[2].renewTime);
    expect(beats.writes).toBe(1);
  });

  it('takes the open-loop load’s ratio against the faster of the phases right before and right after it', () => {
    const rounds = { table: [phase(100)], http: [phase(90)] };
    expect(ceilingOf(phase(300), phase(500), rounds)).toMatchObject({ perSecond: 500, rounds });
    expect(ceilingOf(phase(500), phase(300), rounds).perSecond).toBe(500);
  });
});
