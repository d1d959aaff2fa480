import { performance } from 'node:perf_hooks';
import { type LeaseCandidateObject, parseLeaseCandidate } from '../lib/api/leasecandidate.js';
import { StaleHeartbeatError } from '../lib/errors.js';
import type { HttpRouteDeps } from '../lib/ports/http.js';
import type { KeepAliveClient } from './load-client.js';
import { bodyAround, LOAD_CLUSTER, nextRenewTime } from './load-generator.js';
import { procStat, TICKS_PER_SECOND } from './load-proc.js';
import { closedLoop } from './store-calls.js';

/** One closed-loop phase: `inFlight` senders, each sending the next heartbeat as soon as one returns. */
export interface Phase {
  readonly perSecond: number;
  readonly writes: number;
  readonly seconds: number;
  readonly inFlight: number;
  /** CPU per write over the phase, in ms: this Node process and the DynamoDB Local JVM. */
  readonly cpuPerWrite: { readonly node: number; readonly jvm: number };
}

/** Alternating short phases, the table alone then HTTP, so both see the same machine. */
export interface AlternatingRounds {
  readonly table: Phase[];
  readonly http: Phase[];
}

/** The table alone right before and right after the open-loop HTTP load, and the alternating rounds. */
export interface TableCeiling {
  readonly before: Phase;
  readonly after: Phase;
  /**
   * The faster of the two: what the open-loop load's rate is taken against. Not their mean: the
   * phase before runs closer to start-up (the first elections' timers and renewals settling, JIT,
   * the emulator warming), and was the slower in five of six runs, which a mean would count in our
   * favour.
   */
  readonly perSecond: number;
  readonly rounds: AlternatingRounds;
}

export function ceilingOf(before: Phase, after: Phase, rounds: AlternatingRounds): TableCeiling {
  return { before, after, rounds, perSecond: Math.max(before.perSecond, after.perSecond) };
}

type TableDeps = Pick<HttpRouteDeps, 'store' | 'leases' | 'clock'>;
type Send = (candidate: number) => Promise<void>;

/**
 * Heartbeats of the load's candidates in closed loops, two ways:
 * - the table alone: the HTTP heartbeat path's own write (the `putHeartbeat` call handleHeartbeat
 *   makes, with the candidate as it parses the load generator's body) sent straight to the store;
 * - HTTP: the same body POSTed to the local HTTP API, as the load generator sends it.
 * Both run in the load's own coordinator, against the same table and items, through the same SDK
 * client, with the stream consumers and the leaders' renewals running: the two differ only in what
 * is in front of the write (the HTTP client and server, the local API Gateway adapter, the handler).
 */
export class ClosedLoopHeartbeats {
  /** Writes the table took, either way (the stream shows them all as heartbeats). */
  writes = 0;
  private readonly candidates: LeaseCandidateObject[];
  private readonly bodies: [string, string][];
  readonly table: Send = (candidate) => this.writeToTable(candidate);
  readonly http: Send = (candidate) => this.postOverHttp(candidate);

  /**
   * `lastSent` and `lastAcked` are the load generator's: every way writes the same candidates, so
   * their renewTimes keep rising across phases and the read-back checks every write.
   */
  constructor(
    private readonly deps: TableDeps,
    private readonly client: KeepAliveClient,
    private readonly path: string,
    private readonly lastSent: Float64Array,
    private readonly lastAcked: Float64Array,
    private readonly jvmPid: number,
  ) {
    this.bodies = Array.from({ length: lastSent.length }, (_, i) => bodyAround(i));
    this.candidates = this.bodies.map(([head, tail]) => parsedCandidate(head, tail));
  }

  /** Every candidate once, straight to the table, untimed: creates the items a steady heartbeat renews. */
  async seed(inFlight: number): Promise<void> {
    await closedLoop(this.candidates.length, inFlight, (i) => this.table(i));
  }

  async measure(send: Send, inFlight: number, seconds: number): Promise<Phase> {
    const cpu0 = this.cpuTicks();
    const writes0 = this.writes;
    const started = performance.now();
    const until = started + seconds * 1000;
    const count = this.candidates.length;
    const sender = async (first: number) => {
      for (let i = first; performance.now() < until; i += inFlight) await send(i % count);
    };
    await Promise.all(Array.from({ length: inFlight }, (_, i) => sender(i)));
    const elapsed = (performance.now() - started) / 1000;
    const cpu1 = this.cpuTicks();
    const writes = this.writes - writes0;
    const msPerWrite = (ticks: number) => (1000 * ticks) / TICKS_PER_SECOND / Math.max(1, writes);
    return {
      perSecond: writes / elapsed,
      writes,
      seconds: elapsed,
      inFlight,
      cpuPerWrite: { node: msPerWrite(cpu1.node - cpu0.node), jvm: msPerWrite(cpu1.jvm - cpu0.jvm) },
    };
  }

  /** `rounds` pairs of phases, the table alone then HTTP, `seconds` each. */
  async alternate(inFlight: number, rounds: number, seconds: number): Promise<AlternatingRounds> {
    const result: AlternatingRounds = { table: [], http: [] };
    for (let round = 0; round < rounds; round++) {
      result.table.push(await this.measure(this.table, inFlight, seconds));
      result.http.push(await this.measure(this.http, inFlight, seconds));
    }
    return result;
  }

  private async writeToTable(candidate: number): Promise<void> {
    const c = this.candidates[candidate];
    if (c === undefined) return;
    const renewTime = nextRenewTime(this.lastSent, candidate);
    try {
      await this.deps.store.putHeartbeat(
        this.deps.leases(LOAD_CLUSTER, c.namespace, c.leaseName),
        LOAD_CLUSTER,
        { ...c, renewTime },
        this.deps.clock(),
      );
      this.acked(candidate, renewTime);
    } catch (error) {
      // A sender that took the same candidate's next renewTime first: the write is not counted.
      if (!(error instanceof StaleHeartbeatError)) throw error;
    }
  }

  private async postOverHttp(candidate: number): Promise<void> {
    const [head, tail] = this.bodies[candidate] ?? ['', ''];
    const renewTime = nextRenewTime(this.lastSent, candidate);
    const { status, error } = await this.client.post(
      this.path,
      `${head}${new Date(renewTime).toISOString()}${tail}`,
    );
    if (status === 200 || status === 201) this.acked(candidate, renewTime);
    else if (status !== 409) throw new Error(`heartbeat answered ${status}`, { cause: error });
  }

  private acked(candidate: number, renewTime: number): void {
    this.writes++;
    if (renewTime > (this.lastAcked[candidate] ?? 0)) this.lastAcked[candidate] = renewTime;
  }

  private cpuTicks(): { node: number; jvm: number } {
    return { node: procStat(process.pid)?.cpuTicks ?? 0, jvm: procStat(this.jvmPid)?.cpuTicks ?? 0 };
  }
}

/** The candidate as handleHeartbeat parses the generator's body (without the cluster's resourceVersion). */
function parsedCandidate(head: string, tail: string): LeaseCandidateObject {
  const { resourceVersion: _notOurs, ...parsed } = parseLeaseCandidate(
    JSON.parse(`${head}${new Date().toISOString()}${tail}`),
  );
  return parsed;
}
