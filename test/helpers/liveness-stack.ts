import fc from 'fast-check';
import { type Millis, OLDEST_EMULATION_VERSION } from '../../lib/election/types.js';
import { compareVersions } from '../../lib/election/versions.js';
import type { RawObject } from '../../lib/ports/cluster.js';
import type { LeaseKey } from '../../lib/ports/lease-key.js';
import { CoordinatorWorld } from './liveness-world.js';

/**
 * The stack liveness property's world (test/property/liveness.stack.property.test.ts): its
 * starts, the processes in the clusters, the faults, and the run of CoordinatorWorld through them.
 */

export const T0 = Date.UTC(2026, 6, 1, 12, 0, 0);
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
/** client-go's retry period: how often a holder renews. */
const RETRY_PERIOD = 2 * SECOND;
/** client-go's renew deadline: 10 s of its default 15 s lease, two thirds of any. */
const renewDeadlineMs = (leaseDurationSeconds: number): Millis =>
  Math.floor((leaseDurationSeconds * 1000 * 2) / 3);
/** An agent's routine LeaseCandidate renewal. */
const AGENT_RENEWS_EVERY = 5 * MINUTE;
const NAMES = ['p', 'q', 'r', 's'] as const;

export interface IdentitySetup {
  readonly name: string;
  /** Its process lives in cluster "b" (else "a"); in a lease of one cluster, always "a". */
  readonly inB: boolean;
  readonly versions: readonly [string, string];
  /** It answers pings and renews its Lease to the end; false: it dies (lifeMs). */
  readonly stays: boolean;
  readonly answerMs: number;
  /** Its LeaseCandidate's last renewal at the start, or null: it joins after the warm-up. */
  readonly renewAgoMs: number | null;
  readonly joinAfterMs: number;
  /** A late joiner that does not stay dies this long after it joins (one there at the start, when the warm-up ends). */
  readonly lifeMs: number;
  /** A LeaseCandidate of its name left behind in the group's other cluster, renewed this long before the start. */
  readonly leftoverAgoMs: number | null;
  /** When in each retry period it renews a Lease that names it. */
  readonly renewPhaseMs: number;
  readonly agentPhaseMs: number;
}

export type FaultKind = 'cut' | 'down' | 'ingest' | 'slow';

export interface Fault {
  /** cut: the coordinator cannot reach the cluster; down: nor can its processes; ingest: ingest's watch is broken; slow: the cluster answers the coordinator late. */
  readonly kind: FaultKind;
  /** The cluster: "holder" is the one the lease's holder is recorded in when the fault starts. */
  readonly where: 'a' | 'b' | 'holder';
  readonly fromMs: number;
  readonly lenMs: number;
  readonly slowMs: number;
}

export interface Setup {
  readonly group: boolean;
  readonly gateOffA: boolean;
  readonly gateOffB: boolean;
  readonly takeOverUnreachable: boolean;
  readonly leaseDurationSeconds: number;
  readonly identities: readonly IdentitySetup[];
  readonly warmUpMs: number;
  readonly watchLagMs: number;
  readonly streamLagMs: number;
  readonly timerLagMs: number;
  /** How far each cluster's clock (its processes' stamps) runs ahead of ours; behind when negative. */
  readonly offsetA: number;
  readonly offsetB: number;
  readonly faults: readonly Fault[];
  readonly sweepPhaseMs: number;
}

const versionArb = fc.constantFrom('1.31.0', '1.32.0', '1.33.0', '1.34.0');

const identityArb: fc.Arbitrary<IdentitySetup> = fc.record({
  name: fc.constantFrom(...NAMES),
  inB: fc.boolean(),
  versions: fc.tuple(versionArb, versionArb),
  stays: fc.boolean(),
  answerMs: fc.integer({ min: 1, max: 2 * SECOND }),
  renewAgoMs: fc.option(
    fc.oneof(fc.constantFrom(0, 4_999, 5_001), fc.integer({ min: 0, max: 25 * MINUTE })),
    { nil: null, freq: 4 },
  ),
  joinAfterMs: fc.integer({ min: 0, max: 40 * SECOND }),
  lifeMs: fc.integer({ min: 0, max: 30 * SECOND }),
  leftoverAgoMs: fc.option(fc.oneof(fc.constantFrom(0, 3_000), fc.integer({ min: 0, max: 25 * MINUTE })), {
    nil: null,
    freq: 2,
  }),
  renewPhaseMs: fc.integer({ min: 0, max: RETRY_PERIOD - 1 }),
  agentPhaseMs: fc.integer({ min: 1, max: AGENT_RENEWS_EVERY }),
});

function faultArb(kinds: readonly FaultKind[]): fc.Arbitrary<Fault> {
  return fc.record({
    kind: fc.constantFrom(...kinds),
    where: fc.constantFrom('a', 'b', 'holder', 'holder'),
    // Most faults come while a holder that died at the warm-up's end runs out, or soon after.
    fromMs: fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 0, max: 20 * SECOND }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: MINUTE }) },
    ),
    lenMs: fc.oneof(fc.integer({ min: 1, max: 10 * SECOND }), fc.integer({ min: 1, max: 90 * SECOND })),
    slowMs: fc.constantFrom(1_000, 3_000, 10_000),
  });
}

export function setupArb(kinds: readonly FaultKind[]): fc.Arbitrary<Setup> {
  return fc.record({
    group: fc.boolean(),
    gateOffA: fc.boolean(),
    gateOffB: fc.boolean(),
    takeOverUnreachable: fc.boolean(),
    leaseDurationSeconds: fc.constantFrom(5, 15),
    identities: fc
      .uniqueArray(identityArb, { selector: (c) => c.name, minLength: 1, maxLength: 4 })
      .filter((cs) => cs.some((c) => c.stays)),
    warmUpMs: fc.integer({ min: 0, max: 30 * SECOND }),
    watchLagMs: fc.integer({ min: 0, max: 500 }),
    streamLagMs: fc.integer({ min: 0, max: 1_500 }),
    timerLagMs: fc.integer({ min: 0, max: 300 }),
    offsetA: fc.oneof(fc.constant(0), fc.integer({ min: -2_000, max: 2_000 })),
    offsetB: fc.oneof(fc.constant(0), fc.integer({ min: -2_000, max: 2_000 })),
    faults: kinds.length === 0 ? fc.constant([]) : fc.array(faultArb(kinds), { maxLength: 2 }),
    sweepPhaseMs: fc.integer({ min: 1, max: MINUTE }),
  });
}

export interface World {
  /** The agents renew on their own every AGENT_RENEWS_EVERY, and the minute sweep runs. */
  readonly routine: boolean;
  /** How long after the last fault ends the world runs on. */
  readonly settleMs: Millis;
}

/** As deployed: routine renewals and the sweep end what the coordinator's own looks leave. */
export const DEPLOYED: World = { routine: true, settleMs: 5 * MINUTE };
/** Only the coordinator's own looks (timers, the streams): a step that stalls is not rescued. */
export const PROMPT: World = { routine: false, settleMs: MINUTE };

export const homeOf = (setup: Setup, c: IdentitySetup) => (setup.group && c.inB ? 'b' : 'a');
const otherOf = (cluster: string) => (cluster === 'a' ? 'b' : 'a');

function leaseKey(setup: Setup): LeaseKey {
  return { scope: setup.group ? 'a+b' : 'a', namespace: 'kube-system', name: 'kube-scheduler' };
}

export function sorted(versions: readonly [string, string]): [string, string] {
  return [...versions].sort(compareVersions) as [string, string];
}

/** The world after the warm-up, the faults and late joins, and `settleMs` more. */
export async function simulate(setup: Setup, world: World) {
  const key = leaseKey(setup);
  const clusters = setup.group ? ['a', 'b'] : ['a'];
  const T1 = T0 + setup.warmUpMs;
  const w = new CoordinatorWorld({
    start: T0,
    clusters,
    key,
    gates: { a: setup.gateOffA ? 'off' : 'on', b: setup.gateOffB ? 'off' : 'on' },
    offsets: { a: setup.offsetA, b: setup.offsetB },
    watchLagMs: setup.watchLagMs,
    streamLagMs: setup.streamLagMs,
    timerLagMs: setup.timerLagMs,
    holderClusterUnreachable: setup.group && setup.takeOverUnreachable ? 'TakeOver' : 'Wait',
    sweepPhaseMs: world.routine ? setup.sweepPhaseMs : undefined,
  });
  const faults = setup.faults;
  const faultCluster = async (f: Fault) => {
    if (f.where === 'holder')
      return (await w.table.store().loadLease(key)).lease?.record.holderCluster ?? 'a';
    return setup.group ? f.where : 'a';
  };
  /** Clusters down with their processes, now. */
  const down = new Set<string>();
  const diesAt = (c: IdentitySetup) =>
    c.stays ? Number.POSITIVE_INFINITY : c.renewAgoMs === null ? T1 + c.joinAfterMs + c.lifeMs : T1;
  const alive = (c: IdentitySetup) => w.clock.now < diesAt(c);
  const acting = (c: IdentitySetup) => alive(c) && !down.has(homeOf(setup, c));

  const heartbeat = (c: IdentitySetup, cluster: string) =>
    w.cluster(cluster).heartbeat({
      namespace: key.namespace,
      name: c.name,
      leaseName: key.name,
      binaryVersion: sorted(c.versions)[1],
      emulationVersion: sorted(c.versions)[0],
      strategy: OLDEST_EMULATION_VERSION,
    });

  // The start: LeaseCandidates written before it (with their stamps then), listed by ingest.
  for (const c of setup.identities) {
    const stamps: [string, number][] = [];
    if (c.renewAgoMs !== null) stamps.push([homeOf(setup, c), c.renewAgoMs]);
    if (setup.group && c.leftoverAgoMs !== null) stamps.push([otherOf(homeOf(setup, c)), c.leftoverAgoMs]);
    for (const [cluster, ago] of stamps) {
      w.clock.now = T0 - ago;
      heartbeat(c, cluster);
    }
  }
  w.clock.now = T0;
  w.startIngest();

  // The processes: each answers a ping to its LeaseCandidate, and renews the Lease that names it.
  const answering = new Set<string>();
  const renewals = { last: new Map<string, Millis>(), yielding: new Set<string>() };
  w.onClusterWrite = (cluster, kind, name, object) => {
    const c = setup.identities.find((i) => i.name === name);
    if (kind !== 'LeaseCandidate' || c === undefined || homeOf(setup, c) !== cluster) return;
    if (object === undefined || !pinged(object) || answering.has(name)) return;
    answering.add(name);
    w.clock.at(w.clock.now + c.answerMs, () =>
      retried(c, () => {
        answering.delete(name);
        heartbeat(c, cluster);
      }),
    );
  };
  /** What a live process does once its cluster is up: client-go retries a write that failed. */
  const retried = (c: IdentitySetup, act: () => void) => {
    if (acting(c)) act();
    else if (alive(c)) w.clock.at(w.clock.now + RETRY_PERIOD, () => retried(c, act));
  };
  for (const c of setup.identities) {
    if (c.renewAgoMs === null)
      w.clock.at(T1 + c.joinAfterMs, () => retried(c, () => heartbeat(c, homeOf(setup, c))));
    const renewLease = () => {
      w.clock.at(w.clock.now + RETRY_PERIOD, renewLease);
      if (acting(c)) holderRenews(w, key, c.name, homeOf(setup, c), setup.leaseDurationSeconds, renewals);
    };
    w.clock.at(T0 + c.renewPhaseMs, renewLease);
    if (world.routine) {
      const routine = () => {
        w.clock.at(w.clock.now + AGENT_RENEWS_EVERY, routine);
        if (acting(c)) heartbeat(c, homeOf(setup, c));
      };
      w.clock.at(T0 + c.agentPhaseMs, routine);
    }
  }
  for (const f of faults) {
    w.clock.at(T1 + f.fromMs, async () => {
      const cluster = await faultCluster(f);
      startFault(w, f.kind, cluster, f.slowMs, down);
      w.clock.at(T1 + f.fromMs + f.lenMs, () => endFault(w, f.kind, cluster, down));
    });
  }
  // The world settles after its last change: a fault's end, or a late candidate's first heartbeat
  // (a join near the end of a fault-free run still needs a revoke's lease duration and a ping round)
  // or death.
  const joins = setup.identities.filter((c) => c.renewAgoMs === null).map((c) => T1 + c.joinAfterMs);
  const deaths = setup.identities.map(diesAt).filter(Number.isFinite);
  const faultEnds = faults.map((f) => T1 + f.fromMs + f.lenMs);
  const end = Math.max(T1, ...joins, ...deaths, ...faultEnds) + world.settleMs;
  await w.clock.runUntil(end, w.settled);
  return { w, key, end };
}

function startFault(
  w: CoordinatorWorld,
  kind: FaultKind,
  cluster: string,
  slowMs: number,
  down: Set<string>,
) {
  if (kind === 'slow') w.slow.set(cluster, slowMs);
  else if (kind === 'ingest') w.ingestOut.add(cluster);
  else w.out.add(cluster);
  if (kind === 'down') down.add(cluster);
}

function endFault(w: CoordinatorWorld, kind: FaultKind, cluster: string, down: Set<string>) {
  if (kind === 'slow') {
    w.slow.delete(cluster);
    return;
  }
  const set = kind === 'ingest' ? w.ingestOut : w.out;
  if (!set.has(cluster)) return;
  set.delete(cluster);
  down.delete(cluster);
  if (!w.out.has(cluster) && !w.ingestOut.has(cluster)) w.relist(cluster);
}

/** A LeaseCandidate pinged after its last renewal: its process renews to answer. */
function pinged(object: RawObject): boolean {
  const spec = object.spec as { pingTime?: string; renewTime?: string } | undefined;
  return (
    spec?.pingTime !== undefined &&
    (spec.renewTime === undefined || Date.parse(spec.pingTime) > Date.parse(spec.renewTime))
  );
}

/**
 * client-go, coordinated: it renews the Lease in its cluster while that names it, and never takes a
 * Lease itself. With the gate on, a Lease that prefers another is the yield: it renews no more, and
 * polls at each retry until its renew deadline, counted from the retry after its last renewal, then
 * lets go (a release). A preference gone by a poll before then, it renews again; one gone only after
 * the last poll, it releases all the same (tryCoordinatedRenew and renew in client-go v0.37.2).
 */
function holderRenews(
  w: CoordinatorWorld,
  key: LeaseKey,
  name: string,
  cluster: string,
  durationSeconds: number,
  renewals: { last: Map<string, Millis>; yielding: Set<string> },
) {
  const plane = w.cluster(cluster);
  const lease = plane.get('Lease', key);
  const spec = lease?.spec as { holderIdentity?: string; preferredHolder?: string } | undefined;
  if (spec?.holderIdentity !== name) {
    renewals.yielding.delete(name);
    return;
  }
  const last = renewals.last.get(name) ?? w.clock.now;
  renewals.last.set(name, last);
  if (renewals.yielding.has(name) && w.clock.now >= last + RETRY_PERIOD + renewDeadlineMs(durationSeconds)) {
    renewals.yielding.delete(name);
    renewals.last.delete(name);
    plane.releaseLease(key, name);
    return;
  }
  if (spec.preferredHolder !== undefined && spec.preferredHolder !== name) {
    renewals.yielding.add(name);
    return;
  }
  const renewed = plane.renewLease(key, name, durationSeconds);
  if (renewed === 'not-holder' || !renewed.ok) return;
  renewals.last.set(name, w.clock.now);
  renewals.yielding.delete(name);
}
