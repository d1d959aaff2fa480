import { CANDIDATE_REFRESH_MS, PRE_PING_LEAD_MS, renewalRecordBoundMs } from '../lib/election/timing.js';
import type { BenchResults } from './bench-results.js';
import type { RenewalCost } from './figures/renewal-cost.js';
import { row } from './markdown.js';
import {
  ASSUMED,
  dollars,
  ingestMonthly,
  PRICES,
  QUEUE_REQUESTS_PER_TIMER,
  sweepScheduleMonthly,
  type UnitCost,
} from './pricing.js';

/** The fleet the monthly figure is for: stated, so a reader can scale it to theirs. */
const FLEET = {
  leases: 300,
  candidatesPerLease: 3,
  /** client-go's LeaseCandidate re-renews every 5 minutes. */
  candidateHeartbeatSeconds: 300,
  /** A leader renews its Lease every retryPeriod (client-go default 2 s). */
  leaderRenewSeconds: 2,
  /** kube-scheduler's and kube-controller-manager's default leaseDuration. */
  leaseDurationSeconds: 15,
  electionsPerLeasePerDay: 1,
} as const;
const MONTH_S = 30 * 24 * 3600;
/**
 * Where ingest keeps the holder's deadlines, a held lease's timer follows its candidates' own
 * (each is pinged 15 min after its last renewal, CANDIDATE_REFRESH_MS): with LeaseCandidates
 * renewed every 5 min, the next is 10 to 15 min off whenever one is armed. Priced at the shorter.
 */
const CANDIDATE_TIMER_EVERY_S = CANDIDATE_REFRESH_MS / 1000 - FLEET.candidateHeartbeatSeconds;

/** The report's cost section: counted units priced per event, and per month for the stated fleet. */
export function costSection(r: BenchResults): string[] {
  const http = r.throughput?.filter((t) => t.path === 'http').at(-1);
  if (!http && !r.electionCost && !r.renewalCost) return [];
  const lines = ['## Cost, counted', ''];
  lines.push(
    `Read and write units are what DynamoDB Local reported (ReturnConsumedCapacity; a failed conditional write`,
    `counted as 1 WCU, as billed); invocations are counted handler calls. Prices: WCU $${(PRICES.writeUnit * 1e6).toFixed(3)}/M,`,
    `RCU $${(PRICES.readUnit * 1e6).toFixed(3)}/M, Lambda $${(PRICES.lambdaRequest * 1e6).toFixed(2)}/M requests, HTTP API $${(PRICES.httpApiRequest * 1e6).toFixed(2)}/M;`,
    `SQS $${(PRICES.sqsRequest * 1e6).toFixed(2)}/M requests. Lambda duration is not counted but assumed: ${ASSUMED.invocationSeconds * 1000} ms at ${ASSUMED.memoryGb * 1024} MB arm64 per invocation.`,
    '',
    row(['event', 'WCU', 'RCU', 'Lambda invocations', 'HTTP requests', '$ per million']),
    row(['---', '---', '---', '---', '---', '---']),
  );
  for (const [event, c] of Object.entries(unitCosts(r)))
    lines.push(
      row([
        event,
        c.writeUnits.toFixed(2),
        c.readUnits.toFixed(2),
        c.invocations.toFixed(3),
        c.httpRequests,
        `$${(dollars(c) * 1e6).toFixed(2)}`,
      ]),
    );
  lines.push('', ...decisionShareLines(r), ...noOpHeartbeatLine(r));
  if (r.renewalCost?.perLeaseSecond !== undefined && r.renewalCost.timersPerRenewal === 0)
    lines.push(
      'No timer came due in the renewal run (ingest kept the held leases’ deadlines: docs/design.md, "Timers kept',
      'by ingest"); the timer row is what a delivery takes at least (its read of the lease, the next timer’s arm).',
      '',
    );
  const deployed = r.renewalCost?.deployed;
  if (r.renewalCost && deployed)
    lines.push(
      `The leader renewals counted again under ingest as deployed (a run every minute, each stopping after 72 s, two`,
      `overlapping for 12 s), over ${deployed.minutes} minutes: ${deployed.renewals} renewals, ${deployed.writeUnits.toFixed(2)} WCU and ${deployed.readUnits.toFixed(2)} RCU each on the`,
      `leaders' own leases, against ${deployed.alwaysOn.writeUnits.toFixed(2)} and ${deployed.alwaysOn.readUnits.toFixed(2)} under one run that never stops. The difference is priced on its own row.`,
      '',
    );
  const bill = fleetBill(r);
  if (bill)
    lines.push(
      `### $ per month for a stated fleet`,
      '',
      `${FLEET.leases} coordinated leases (e.g. 100 clusters × kube-scheduler, kube-controller-manager, cloud-controller-manager),`,
      `${FLEET.candidatesPerLease} client-go candidates each (LeaseCandidate renewed every ${FLEET.candidateHeartbeatSeconds} s), leaders renewing every`,
      `${FLEET.leaderRenewSeconds} s on ${FLEET.leaseDurationSeconds} s leases, ${FLEET.electionsPerLeasePerDay} election per lease per day, all read through ingest.`,
      `Before free tiers and logs; each timer counts ${QUEUE_REQUESTS_PER_TIMER} SQS requests. The measured renewal above includes`,
      'its run’s timers (15 s leases renewed every 2 s, as this fleet’s); here they are priced per time held instead.',
      '',
      row(['item', 'events / month', '$ / month']),
      row(['---', '---', '---']),
      ...bill.items.map(([item, n, d]) =>
        row([item, Math.round(n).toLocaleString('en-US'), `$${d.toFixed(2)}`]),
      ),
      row(['**total**', '', `**$${bill.total.toFixed(2)}**`]),
      row(['**per lease**', '', `**$${bill.perLease.toFixed(2)}**`]),
      '',
    );
  return lines;
}

/** Table units, invocations and requests per event, as the run counted them. */
function unitCosts(r: BenchResults): Record<string, UnitCost> {
  const http = r.throughput?.filter((t) => t.path === 'http').at(-1);
  const ingest = r.throughput?.filter((t) => t.path === 'ingest').at(-1);
  const costs: Record<string, UnitCost> = {};
  if (http)
    costs['heartbeat over HTTP (renewal)'] = {
      writeUnits: http.writeUnits,
      readUnits: http.readUnits,
      invocations: 1 + http.electInvocations / http.heartbeats,
      httpRequests: 1,
    };
  if (ingest)
    costs['heartbeat through ingest (renewal)'] = {
      writeUnits: ingest.writeUnits,
      readUnits: ingest.readUnits,
      invocations: ingest.electInvocations / ingest.heartbeats,
      httpRequests: 0,
    };
  if (r.renewalCost) {
    costs['leader Lease renewal through ingest'] = { ...r.renewalCost, httpRequests: 0 };
    costs['expiry timer of a held lease (one requeue)'] = {
      ...timerUnits(r.renewalCost),
      invocations: 1,
      httpRequests: 0,
      queueRequests: QUEUE_REQUESTS_PER_TIMER,
    };
  }
  const added = r.renewalCost && deployedAddition(r.renewalCost);
  if (added) costs[DEPLOYED_ROW] = added;
  if (r.electionCost)
    costs['election (candidate added, elected, mirrored, removed)'] = { ...r.electionCost, httpRequests: 0 };
  const sweep = http?.sweepPerLease;
  // The sweep itself is one scheduled invocation a minute, whatever the fleet: a fixed cost, below.
  if (sweep) costs['sweep, per lease (every minute)'] = { ...sweep, invocations: 0, httpRequests: 0 };
  return costs;
}

/** The stated fleet's bill for a month: each item, the total and the total per lease. */
export interface FleetBill {
  readonly items: readonly (readonly [item: string, events: number, dollars: number])[];
  readonly total: number;
  readonly perLease: number;
}

const DEPLOYED_ROW =
  'what the deployed schedule adds to a leader renewal (each run’s first list, two runs overlapping)';

/**
 * Per renewal, what the same leaders took under the deployed schedule's runs beyond what they took
 * under one run that never stops; none where the count showed less (the two counts' noise).
 */
function deployedAddition(cost: RenewalCost): UnitCost | undefined {
  if (cost.deployed === undefined) return undefined;
  const { writeUnits, readUnits, alwaysOn } = cost.deployed;
  return {
    writeUnits: Math.max(0, writeUnits - alwaysOn.writeUnits),
    readUnits: Math.max(0, readUnits - alwaysOn.readUnits),
    invocations: 0,
    httpRequests: 0,
  };
}

/** The stated fleet's monthly bill from the run's unit costs; undefined when the run lacks one it needs. */
export function fleetBill(r: BenchResults): FleetBill | undefined {
  const costs = unitCosts(r);
  const hb = costs['heartbeat through ingest (renewal)'];
  const timer = costs['expiry timer of a held lease (one requeue)'];
  const measured = costs['leader Lease renewal through ingest'];
  // The fleet prices timers by time held, so they come out of the per-renewal figure.
  const renew =
    measured && timer && r.renewalCost
      ? {
          writeUnits: measured.writeUnits - r.renewalCost.timersPerRenewal * timer.writeUnits,
          readUnits: measured.readUnits - r.renewalCost.timersPerRenewal * timer.readUnits,
          invocations: measured.invocations - r.renewalCost.timersPerRenewal,
          httpRequests: 0,
        }
      : measured;
  const elect = costs['election (candidate added, elected, mirrored, removed)'];
  // What one recorded renewal costs (the run's share recorded; kept ones cost nothing), priced at
  // the share the fleet's own bound records.
  const runShare = r.renewalCost?.recordedShare ?? 1;
  const fleetShare = recordedShareFor(FLEET.leaderRenewSeconds, FLEET.leaseDurationSeconds);
  const recordedRenewal = renew && scaled(renew, fleetShare / runShare);
  if (!hb || !recordedRenewal || !elect) return undefined;
  const counted = r.renewalCost?.perLeaseSecond;
  const perMonth = {
    heartbeats: (FLEET.leases * FLEET.candidatesPerLease * MONTH_S) / FLEET.candidateHeartbeatSeconds,
    renewals: (FLEET.leases * MONTH_S) / FLEET.leaderRenewSeconds,
    elections: FLEET.leases * FLEET.electionsPerLeasePerDay * 30,
    sweeps: (FLEET.leases * MONTH_S) / 60,
    // Counted in the renewal run where it was (per second held), else one per held deadline.
    timers:
      counted === undefined
        ? (FLEET.leases * MONTH_S) / (FLEET.leaseDurationSeconds - PRE_PING_LEAD_MS / 1000)
        : counted.timers * FLEET.leases * MONTH_S,
    candidateTimers: (FLEET.leases * MONTH_S) / CANDIDATE_TIMER_EVERY_S,
  };
  const timerRow = timersRow(FLEET.leases, counted, FLEET.leaseDurationSeconds - PRE_PING_LEAD_MS / 1000);
  const cover = r.renewalCost?.coverPerSecond;
  const perLeaseSweep = costs['sweep, per lease (every minute)'];
  const items = [
    ['candidate heartbeats', perMonth.heartbeats, dollars(hb) * perMonth.heartbeats],
    [
      `leader Lease renewals (without their timers; ingest records 1 in ${Math.round(1 / fleetShare)})`,
      perMonth.renewals,
      dollars(recordedRenewal) * perMonth.renewals,
    ],
    ...(costs[DEPLOYED_ROW]
      ? ([[DEPLOYED_ROW, perMonth.renewals, dollars(costs[DEPLOYED_ROW]) * perMonth.renewals]] as const)
      : []),
    ...(timer
      ? ([
          [
            timerRow,
            perMonth.timers,
            dollars(timer) * perMonth.timers +
              // Timers sent that were never delivered in the run (SendMessage alone) are billed too.
              (counted === undefined
                ? 0
                : Math.max(0, counted.sent - counted.timers) * FLEET.leases * MONTH_S * PRICES.sqsRequest),
          ],
        ] as const)
      : []),
    ...(timer && counted !== undefined
      ? ([
          [
            `candidates’ deadlines of a held lease (a timer each, one per ${CANDIDATE_TIMER_EVERY_S / 60} min at most: too rare for the run to see)`,
            perMonth.candidateTimers,
            dollars(timer) * perMonth.candidateTimers,
          ],
        ] as const)
      : []),
    ...(cover
      ? ([
          [
            'ingest’s timer cover (its writes, the deciders’ reads; fixed, counted per second of the run)',
            MONTH_S,
            dollars({ ...cover, invocations: 0, httpRequests: 0 }) * MONTH_S,
          ],
        ] as const)
      : []),
    ['elections', perMonth.elections, dollars(elect) * perMonth.elections],
    ...(perLeaseSweep
      ? ([
          ['sweeps (each lease once a minute)', perMonth.sweeps, dollars(perLeaseSweep) * perMonth.sweeps],
          // The deployed ingest starts each minute's run with the same scan of the table (its
          // first list then writes only what changed), priced as the sweep's measured scan.
          [
            'ingest start scans (each lease once a minute)',
            perMonth.sweeps,
            dollars(perLeaseSweep) * perMonth.sweeps,
          ],
        ] as const)
      : []),
    ['sweep schedule (one invocation a minute, fixed)', MONTH_S / 60, sweepScheduleMonthly()],
    ['ingest watch (always on, fixed)', 1, ingestMonthly()],
  ] as const;
  const total = items.reduce((sum, [, , d]) => sum + d, 0);
  return { items, total, perLease: total / FLEET.leases };
}

/**
 * A timer's table units as the run counted them; where the run delivered none (ingest kept every
 * deadline), what such a delivery takes at least: its read of the lease, and the next timer's arm.
 */
function timerUnits(cost: RenewalCost): { writeUnits: number; readUnits: number } {
  return cost.timersPerRenewal > 0 ? cost.perTimer : { writeUnits: 1, readUnits: 1 };
}

/** The timers row's label: counted in the run (per lease-hour held), or assumed one per held deadline. */
function timersRow(
  leases: number,
  counted: { readonly timers: number; readonly sent: number } | undefined,
  everySeconds: number,
): string {
  if (counted === undefined) return `expiry timers (a held lease: one per ${everySeconds} s, assumed)`;
  const perHour = (n: number) => (n * 3600).toFixed(2);
  return (
    `expiry timers (counted in the renewal run: ${perHour(counted.timers)} delivered and ${perHour(counted.sent)} sent` +
    ` per lease-hour held, × ${leases} leases)`
  );
}

/**
 * The share of a leader's renewals ingest records: it records one when the deadline it would
 * record has moved by more than its bound (renewalRecordBoundMs) since the last it recorded.
 */
function recordedShareFor(renewSeconds: number, leaseDurationSeconds: number): number {
  const boundMs = renewalRecordBoundMs(leaseDurationSeconds);
  return 1 / (Math.floor(boundMs / (renewSeconds * 1000)) + 1);
}

function scaled(cost: UnitCost, by: number): UnitCost {
  return {
    ...cost,
    writeUnits: cost.writeUnits * by,
    readUnits: cost.readUnits * by,
    invocations: cost.invocations * by,
  };
}

/**
 * The election row's parts that every decision adds, per decision: the decision history's writes
 * (already inside the election row's units) and the Events on the Lease, which are apiserver
 * requests sent by the mirror invocation already counted, so they add no AWS charge of their own.
 */
function decisionShareLines(r: BenchResults): string[] {
  const share = r.decisionShare;
  if (share === undefined || share.records === 0) return [];
  // Each stored record is one decision; the units of numbers left unused are its overhead.
  const history: UnitCost = {
    writeUnits: share.history.writeUnits / share.records,
    readUnits: share.history.readUnits / share.records,
    invocations: 0,
    httpRequests: 0,
  };
  const events = share.events / share.records;
  const cell = (c: UnitCost) => `$${(dollars(c) * 1e6).toFixed(2)}`;
  const unused = share.numbers - share.records;
  return [
    `Of which, per decision (${share.records} decisions recorded in the election trials, as history records read back;`,
    `${share.numbers} record numbers taken, ${unused} left unused by a step that lost its compare-and-set; ${share.events} Events`,
    `found in ${share.clusters} apiserver${share.clusters === 1 ? '' : 's'}, the trial leases being ungrouped, one cluster each). The election row includes both:`,
    'the Events are apiserver requests sent by the mirror invocation counted there, with no AWS charge of their own.',
    '',
    row(['part', 'WCU', 'RCU', 'table writes', 'apiserver requests, per cluster', '$ per million']),
    row(['---', '---', '---', '---', '---', '---']),
    row([
      'decision history, per decision',
      history.writeUnits.toFixed(2),
      history.readUnits.toFixed(2),
      (share.history.writes / share.records).toFixed(2),
      0,
      cell(history),
    ]),
    row(['Kubernetes Events, per decision', '0.00', '0.00', '0.00', events.toFixed(2), '$0.00']),
    '',
  ];
}

/** The no-op heartbeat's count, kept beside the costs: one conditional write, no invocation. */
function noOpHeartbeatLine(r: BenchResults): string[] {
  const http = r.throughput?.filter((t) => t.path === 'http') ?? [];
  if (http.length === 0) return [];
  const renewals = http.reduce((n, t) => n + t.heartbeats, 0);
  const writes = http.reduce((n, t) => n + Math.round(t.writeCalls * t.heartbeats), 0);
  const invocations = http.reduce((n, t) => n + t.electInvocations, 0);
  return [
    `A no-op heartbeat (HTTP): ${writes} table writes and ${invocations} elect invocations for ${renewals} renewals` +
      ` (${(writes / renewals).toFixed(2)} write per heartbeat); the history and Events are written only on a decision.`,
    '',
  ];
}
