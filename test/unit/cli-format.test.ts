import { describe, expect, it } from 'vitest';
import { alignColumns, explanationText, serialize, statusObject, statusRow } from '../../lib/cli/format.js';
import { explainLease, type LeaseStatus, leaseStatus } from '../../lib/cli/lease-view.js';
import type { LeaseState, StoredCandidate } from '../../lib/ports/store.js';
import { schedulerCandidate } from '../helpers/scheduler-candidates.js';

const NOW = Date.UTC(2026, 6, 1, 12, 0, 0);
const KEY = { scope: 'alpha', namespace: 'kube-system', name: 'kube-scheduler' };

function stored(name: string, overrides: Partial<StoredCandidate> = {}): StoredCandidate {
  return schedulerCandidate(name, NOW, overrides, 3_600_000);
}

function held(overrides: Partial<NonNullable<LeaseState['lease']>['record']> = {}): LeaseState['lease'] {
  return {
    version: 3,
    record: {
      holderIdentity: 'sched-a',
      holderCluster: 'alpha',
      leaseDurationSeconds: 15,
      renewTime: NOW - 5_000,
      strategy: 'OldestEmulationVersion',
      term: 4,
      ...overrides,
    },
  };
}

/** What explain says next of sched-a, renewed `renewedAgo` ms ago with no candidate of its own, beside a dead candidate. */
function holderBesideDeadCandidate(renewedAgo: number) {
  const dead = stored('sched-b', {
    emulationVersion: '1.33.0',
    renewTime: NOW - 180_000,
    pingTime: NOW - 120_000,
  });
  return explainLease(KEY, { lease: held({ renewTime: NOW - renewedAgo }), candidates: [dead] }, [], NOW)
    .next;
}

/** What explain says next of sched-a, renewed 1 s ago and asked to yield to sched-b (older, live), beside `others`. */
function holderAskedToYield(...others: StoredCandidate[]) {
  const candidates = [
    stored('sched-a'),
    stored('sched-b', { emulationVersion: '1.33.0', renewTime: NOW - 500 }),
    ...others,
  ];
  const lease = held({ renewTime: NOW - 1_000, preferredHolder: 'sched-b' });
  return explainLease(KEY, { lease, candidates }, [], NOW).next;
}

describe('cli formatting (unit: pure)', () => {
  it('aligns columns three spaces apart, as kubectl does, without trailing spaces', () => {
    expect(
      alignColumns([
        ['NAME', 'AGE', ''],
        ['a-long-name', '5s', ''],
      ]),
    ).toBe('NAME          AGE\na-long-name   5s');
    expect(alignColumns([['A', 'B']], '  ')).toBe('  A   B');
  });

  it('shows an unheld lease, an expired one and missing values as kubectl would', () => {
    const unheld: LeaseStatus = {
      ...KEY,
      term: 0,
      candidates: { live: 0, stale: 1, pinged: 0 },
    };
    expect(statusRow(unheld, NOW)).toEqual([
      'alpha',
      'kube-system',
      'kube-scheduler',
      '<none>',
      '<none>',
      '0',
      '<none>',
      '<none>',
      '0',
      '1',
      '0',
      '<none>',
    ]);
    const expired = leaseStatus(
      KEY,
      { lease: held({ renewTime: NOW - 200_000 }), candidates: [] },
      undefined,
      NOW,
    );
    expect(statusRow(expired, NOW)[6]).toBe('expired 3m5s ago');
    expect(statusObject(expired)).toMatchObject({ expiresInSeconds: -185 });
    expect(serialize({ a: 1 }, 'yaml')).toBe('a: 1');
  });

  it('counts candidates live, stale and pinged, leaving out the expired', () => {
    const state: LeaseState = {
      lease: held(),
      candidates: [
        stored('sched-a'),
        stored('quiet', { renewTime: NOW - 60_000 }),
        stored('asked', { renewTime: NOW - 60_000, pingTime: NOW - 2_000 }),
        stored('gone', { renewTime: NOW - 3_600_000 }),
      ],
    };
    expect(leaseStatus(KEY, state, undefined, NOW).candidates).toEqual({ live: 1, stale: 1, pinged: 1 });
  });

  it('explain says what the coordinator waits for and until when', () => {
    const waiting = explainLease(
      KEY,
      { lease: undefined, candidates: [stored('a', { renewTime: NOW - 60_000, pingTime: NOW - 2_000 })] },
      [],
      NOW,
    );
    expect(waiting.next).toEqual({
      action: 'wait',
      summary: 'waits for a to answer its ping until 2026-07-01T12:00:03.001Z',
      nextLookAt: NOW + 3_001,
    });
    const pinging = explainLease(
      KEY,
      { lease: undefined, candidates: [stored('a', { renewTime: NOW - 60_000 })] },
      [],
      NOW,
    );
    expect(pinging.next.summary).toBe(
      'pings a now, then waits for its answer until 2026-07-01T12:00:05.001Z',
    );
    const waitingForTwo = explainLease(
      KEY,
      {
        lease: undefined,
        candidates: ['a', 'b'].map((name) =>
          stored(name, { renewTime: NOW - 60_000, pingTime: NOW - 2_000 }),
        ),
      },
      [],
      NOW,
    );
    expect(waitingForTwo.next.summary).toBe(
      'waits for a, b to answer their pings until 2026-07-01T12:00:03.001Z',
    );
    const pingingTwo = explainLease(
      KEY,
      { lease: undefined, candidates: ['a', 'b'].map((name) => stored(name, { renewTime: NOW - 60_000 })) },
      [],
      NOW,
    );
    expect(pingingTwo.next.summary).toBe(
      'pings a, b now, then waits for their answers until 2026-07-01T12:00:05.001Z',
    );
    const deferred = explainLease(
      KEY,
      {
        lease: {
          ...held({ renewTime: NOW - 60_000 }),
          takeoverNotBefore: NOW + 4_000,
          holderClusterOut: true,
        } as LeaseState['lease'],
        candidates: [stored('b')],
      },
      [],
      NOW,
    );
    expect(deferred.next.summary).toBe(
      "takeover held off until 2026-07-01T12:00:04.000Z: the holder's cluster does not answer",
    );
  });

  it('explain of a renewing holder while a better candidate stays silent: it waits for the renewal, pings nobody', () => {
    // The better one is a pod killed without withdrawing its LeaseCandidate: its ping went unanswered.
    const silent = stored('sched-b', {
      emulationVersion: '1.33.0',
      renewTime: NOW - 180_000,
      pingTime: NOW - 120_000,
    });
    const holder = stored('sched-a', { renewTime: NOW - 120_000, pingTime: NOW - 120_050 });
    const explained = explainLease(
      KEY,
      { lease: held({ renewTime: NOW - 1_000 }), candidates: [holder, silent] },
      [],
      NOW,
    );
    expect(explained.next.action).toBe('none');
    expect(explained.next.summary).toMatch(/^waits for sched-a to renew before its lease runs out/);
  });

  it('explain of a holder asked to yield: the successor takes over at its release or deadline, not a renewal awaited', () => {
    // Gate off the holder is revoked and cannot renew: "waits for sched-a to renew" misled (newcomer's try).
    const next = holderAskedToYield();
    expect(next.action).toBe('none');
    expect(next.summary).toBe(
      'sched-a is asked to yield to sched-b, which takes over when sched-a releases or its lease runs out at ' +
        '2026-07-01T12:00:14.000Z (where its cluster drops preferredHolder, sched-a is revoked there and cannot ' +
        'renew); next look at 2026-07-01T12:00:02.000Z',
    );
  });

  it('explain of a preference that no longer stands: it is taken back, not "sets the strategy"', () => {
    // sched-b, preferred, withdrew its LeaseCandidate: the step drops the preference (a Withdraw Event).
    const explained = explainLease(
      KEY,
      {
        lease: held({ renewTime: NOW - 1_000, preferredHolder: 'sched-b' }),
        candidates: [stored('sched-a')],
      },
      [],
      NOW,
    );
    expect(explained.next.action).toBe('preempt');
    expect(explained.next.summary).toBe('keeps sched-a: no longer asks it to yield to sched-b, now');
  });

  it('explain of a live holder with no candidate of its own and nobody else answering: it keeps leading, not a failure', () => {
    // A newcomer stopped the holder's agent (its LeaseCandidate withdrawn) beside a dead candidate
    // and read "cannot elect: no available candidates" of a healthy leader.
    const next = holderBesideDeadCandidate(1_000);
    expect(next.action).toBe('error');
    expect(next.summary).toBe(
      'sched-a leads on while it renews (its lease runs out at 2026-07-01T12:00:14.000Z unless renewed): ' +
        'the coordinator cannot elect another (no available candidates)',
    );
    // At the last millisecond of its lease it is live, as the step counts it.
    expect(holderBesideDeadCandidate(15_000).summary).toMatch(
      /^sched-a leads on while it renews \(its lease runs out at 2026-07-01T12:00:00\.000Z/,
    );
  });

  it('explain of an error step while the live holder is asked to yield: not said to lead on while it renews', () => {
    // Candidates that disagree on strategy stop the election with sched-b already preferred: sched-a
    // releases (or, where its cluster drops preferredHolder, is revoked and cannot renew).
    const next = holderAskedToYield(
      stored('sched-c', { strategy: 'example.com/Custom', renewTime: NOW - 500 }),
    );
    expect(next.action).toBe('error');
    expect(next.summary).toBe(
      'sched-a is asked to yield to sched-b, and the coordinator cannot elect (candidates at the same binary ' +
        'version 1.34.0 disagree on strategy: OldestEmulationVersion, example.com/Custom): sched-a leads until it ' +
        'releases or its lease runs out at 2026-07-01T12:00:14.000Z (where its cluster drops preferredHolder, it ' +
        'is revoked there and cannot renew)',
    );
  });

  it('prints explain as kubectl describe does: fields, the ranking, who is left out, the decisions', () => {
    const explained = explainLease(
      KEY,
      {
        lease: held(),
        candidates: [
          stored('sched-a'),
          stored('sched-b', { binaryVersion: '1.35.0' }),
          stored('odd', { emulationVersion: 'x' }),
        ],
      },
      [
        {
          at: NOW - 90_000,
          action: 'takeover',
          term: 4,
          holder: 'sched-a',
          message:
            'Elected sched-a (term 4): lowest binary version 1.34.0 at emulation version 1.34.0 of 2 candidates',
          ranked: [],
          rankedCount: 2,
          pinged: ['alpha/sched-b'],
          leftOut: [],
        },
      ],
      NOW,
    );
    expect(explanationText(explained, NOW)).toBe(
      [
        'Lease:              kube-system/kube-scheduler',
        'Scope:              alpha',
        'Holder:             sched-a (cluster alpha)',
        'Term:               4',
        'Expires:            10s',
        'Preferred holder:   <none>',
        `Next step:          waits for sched-a to renew before its lease runs out at 2026-07-01T12:00:10.000Z; next look at 2026-07-01T12:00:08.000Z`,
        'Candidates:',
        '  RANK   NAME      CLUSTER   EMULATION   BINARY   AGE   STANDING   REASON',
        '  1      sched-a   alpha     1.34.0      1.34.0   60m   live       best: lowest binary version 1.34.0 (next 1.35.0)',
        '  2      sched-b   alpha     1.34.0      1.35.0   60m   live       after sched-a: same emulation version, binary version 1.35.0 above 1.34.0',
        'Left out:',
        '  NAME   CLUSTER   REASON',
        '  odd    alpha     versions not orderable: emulation "x", binary "1.34.0"',
        'Decisions (newest first):',
        '  AGE   ACTION     TERM   HOLDER    MESSAGE',
        '  90s   takeover   4      sched-a   Elected sched-a (term 4): lowest binary version 1.34.0 at emulation version 1.34.0 of 2 candidates; pinged alpha/sched-b',
      ].join('\n'),
    );
  });
});
