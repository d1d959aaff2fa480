import { readFileSync } from 'node:fs';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../lib/election/decision-record.js';
import { type FilterPattern, matchesAny } from '../../lib/local/event-filter.js';
import { LiveView } from '../../lib/local/live-view.js';
import { DEFAULT_HISTORY_RETENTION } from '../../lib/ports/history.js';
import { historyItem } from '../../lib/store/decision-history.js';
import { HISTORY_HEAD_SK } from '../../lib/store/history-keys.js';

const filters = JSON.parse(
  readFileSync(new URL('../../infra/stream-filters.json', import.meta.url), 'utf8'),
) as {
  elect: FilterPattern[];
  mirror: FilterPattern[];
};

type Image = Record<string, { S?: string; N?: string; BOOL?: boolean }>;

function record(
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  sk: string,
  images: { old?: Image; new?: Image },
): DynamoDBRecord {
  const keys = { pk: { S: 'LEASE#alpha/kube-system/kube-scheduler' }, sk: { S: sk } };
  return {
    eventName,
    dynamodb: {
      Keys: keys,
      ...(images.old !== undefined && { OldImage: { ...keys, ...images.old } }),
      ...(images.new !== undefined && { NewImage: { ...keys, ...images.new } }),
      SequenceNumber: '1',
    },
  } as DynamoDBRecord;
}

const candidateSk = 'CANDIDATE#alpha#sched-a';
const candidate = (extra: Image = {}): Image => ({
  kind: { S: 'candidate' },
  renewTime: { N: '1' },
  ...extra,
});
const lease = (change: string): Image => ({
  kind: { S: 'lease' },
  change: { S: change },
  holderIdentity: { S: 'a' },
});

describe('elect stream filters (unit: infra/stream-filters.json through the local matcher)', () => {
  const wakes = (r: DynamoDBRecord) => matchesAny(filters.elect, r);

  it('let a new candidate, a changed spec, an ack, a removal and a release wake elect', () => {
    expect(wakes(record('INSERT', candidateSk, { new: candidate({ change: { S: 'spec' } }) }))).toBe(true);
    expect(
      wakes(
        record('MODIFY', candidateSk, {
          old: candidate({ change: { S: 'renew' } }),
          new: candidate({ change: { S: 'spec' } }),
        }),
      ),
    ).toBe(true);
    expect(
      wakes(
        record('MODIFY', candidateSk, {
          old: candidate({ change: { S: 'ping' }, awaitingAck: { BOOL: true } }),
          new: candidate({ change: { S: 'renew' } }),
        }),
      ),
    ).toBe(true);
    expect(wakes(record('REMOVE', candidateSk, { old: candidate() }))).toBe(true);
    expect(wakes(record('MODIFY', 'LEASE', { old: lease('renewal'), new: lease('release') }))).toBe(true);
  });

  it('keep a heartbeat that changes nothing, a ping, a decision, a renewal, a deferred takeover and a timer from waking elect', () => {
    expect(
      wakes(
        record('MODIFY', candidateSk, {
          old: candidate({ change: { S: 'renew' } }),
          new: candidate({ change: { S: 'renew' } }),
        }),
      ),
    ).toBe(false);
    expect(
      wakes(
        record('MODIFY', candidateSk, {
          old: candidate({ change: { S: 'renew' } }),
          new: candidate({ change: { S: 'ping' }, awaitingAck: { BOOL: true } }),
        }),
      ),
    ).toBe(false);
    expect(wakes(record('INSERT', 'LEASE', { new: lease('decision') }))).toBe(false);
    expect(wakes(record('MODIFY', 'LEASE', { old: lease('decision'), new: lease('renewal') }))).toBe(false);
    expect(wakes(record('MODIFY', 'LEASE', { old: lease('observed'), new: lease('deferred') }))).toBe(false);
    expect(wakes(record('INSERT', 'TIMER', { new: { kind: { S: 'timer' }, dueAt: { N: '5' } } }))).toBe(
      false,
    );
  });
});

describe('mirror stream filters (unit: infra/stream-filters.json through the local matcher)', () => {
  const wakes = (r: DynamoDBRecord) => matchesAny(filters.mirror, r);

  it('let a decision, a group renewal, a release and a ping wake mirror, and nothing else', () => {
    for (const change of ['decision', 'renewal', 'release', 'observed'])
      expect(wakes(record('MODIFY', 'LEASE', { old: lease('decision'), new: lease(change) })), change).toBe(
        true,
      );
    expect(
      wakes(record('MODIFY', candidateSk, { old: candidate(), new: candidate({ change: { S: 'ping' } }) })),
    ).toBe(true);
    for (const change of ['renewal-local', 'deferred'])
      expect(wakes(record('MODIFY', 'LEASE', { old: lease('decision'), new: lease(change) })), change).toBe(
        false,
      );
    expect(
      wakes(record('MODIFY', candidateSk, { old: candidate(), new: candidate({ change: { S: 'renew' } }) })),
    ).toBe(false);
  });
});

describe('the sweep lock in the stream (unit: infra/stream-filters.json through the local matcher)', () => {
  it('wakes neither elect nor mirror when a sweep takes, takes over or lets go of its lock', () => {
    const lock = (owner: string): Image => ({
      kind: { S: 'lock' },
      owner: { S: owner },
      heldUntil: { N: '60000' },
    });
    const records = [
      record('INSERT', 'LOCK', { new: lock('run-1') }),
      record('MODIFY', 'LOCK', { old: lock('run-1'), new: lock('run-2') }),
      record('REMOVE', 'LOCK', { old: lock('run-2') }),
    ];
    for (const r of records) {
      expect(matchesAny(filters.elect, r), `elect: ${r.eventName}`).toBe(false);
      expect(matchesAny(filters.mirror, r), `mirror: ${r.eventName}`).toBe(false);
    }
  });
});

describe('ingest’s timer cover in the stream (unit: infra/stream-filters.json through the local matcher)', () => {
  it('wakes neither elect nor mirror when a run writes, extends or widens its cover', () => {
    const cover = (until: number, clusters: readonly string[]): Image => ({
      kind: { S: 'cover' },
      ...Object.fromEntries(clusters.map((c) => [`until#${c}`, { N: String(until) }])),
    });
    const records = [
      record('INSERT', 'COVER', { new: cover(15_000, ['alpha']) }),
      record('MODIFY', 'COVER', { old: cover(15_000, ['alpha']), new: cover(20_000, ['alpha', 'beta']) }),
    ];
    for (const r of records) {
      expect(matchesAny(filters.elect, r), `elect: ${r.eventName}`).toBe(false);
      expect(matchesAny(filters.mirror, r), `mirror: ${r.eventName}`).toBe(false);
    }
  });
});

describe('decision history in the stream (unit: infra/stream-filters.json through the local matcher)', () => {
  it('wakes neither elect nor mirror when a record is stored, replaced in its slot, or expires', () => {
    const key = { scope: 'alpha', namespace: 'kube-system', name: 'kube-scheduler' };
    const image = (seq: number) =>
      marshall(historyItem(key, seq, sampleRecord(seq), DEFAULT_HISTORY_RETENTION), {
        removeUndefinedValues: true,
      }) as Image;
    const keys = (item: Image) => ({ pk: item.pk, sk: item.sk });
    const stored = image(1);
    const replaced = image(1 + DEFAULT_HISTORY_RETENTION.perLease);
    const head = {
      pk: stored.pk,
      sk: { S: HISTORY_HEAD_SK },
      kind: { S: 'history' },
      seq: { N: '2' },
    } as Image;
    const records = [
      { eventName: 'INSERT', dynamodb: { Keys: keys(stored), NewImage: stored } },
      { eventName: 'MODIFY', dynamodb: { Keys: keys(stored), OldImage: stored, NewImage: replaced } },
      { eventName: 'REMOVE', dynamodb: { Keys: keys(stored), OldImage: replaced } },
      { eventName: 'MODIFY', dynamodb: { Keys: keys(head), OldImage: head, NewImage: head } },
      { eventName: 'REMOVE', dynamodb: { Keys: keys(head), OldImage: head } },
    ] as DynamoDBRecord[];
    for (const r of records) {
      expect(matchesAny(filters.elect, r), `elect: ${r.eventName} ${r.dynamodb?.Keys?.sk?.S}`).toBe(false);
      expect(matchesAny(filters.mirror, r), `mirror: ${r.eventName} ${r.dynamodb?.Keys?.sk?.S}`).toBe(false);
    }
  });
});

function sampleRecord(seq: number): DecisionRecord {
  return {
    at: 1_700_000_000_000 + seq,
    action: 'takeover',
    term: seq,
    holder: 'sched-b',
    holderCluster: 'alpha',
    previousHolder: 'sched-a',
    cause: 'released',
    message: `Elected sched-b (term ${seq}): lowest emulation version 1.33.0 of 2 candidates`,
    ranked: [
      {
        rank: 1,
        cluster: 'alpha',
        name: 'sched-b',
        emulationVersion: '1.33.0',
        binaryVersion: '1.34.0',
        ageMs: 9_000,
        standing: 'live',
        criterion: 'emulationVersion',
      },
    ],
    rankedCount: 1,
    pinged: [],
    leftOut: [{ cluster: 'alpha', name: 'sched-a', reason: 'released the lease and has not renewed since' }],
  };
}

/** The live view writing into a pipe (not a terminal): every line it writes, in order. */
function pipedView(): { view: LiveView; written: string[] } {
  const written: string[] = [];
  const out = { isTTY: false, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
  return { view: new LiveView(out), written };
}

describe('live view (unit: a fake output stream)', () => {
  it('prints one line per lease decision, with holder, term and preferred holder', () => {
    const { view, written } = pipedView();
    const decision = (holder: string, term: number, preferred?: string) =>
      record('MODIFY', 'LEASE', {
        new: {
          ...lease('decision'),
          namespace: { S: 'kube-system' },
          name: { S: 'kube-scheduler' },
          holderIdentity: { S: holder },
          term: { N: String(term) },
          strategy: { S: 'OldestEmulationVersion' },
          updatedAt: { N: String(Date.parse('2026-11-24T12:00:01Z')) },
          ...(preferred !== undefined && { preferredHolder: { S: preferred } }),
        },
      });
    view.update(decision('sched-a', 1));
    view.update(decision('sched-a', 1, 'sched-b'));
    view.update(record('INSERT', candidateSk, { new: candidate() }));
    expect(written).toEqual([
      '12:00:01  kube-system/kube-scheduler @alpha  holder=sched-a  term=1  strategy=OldestEmulationVersion  (decision)\n',
      '12:00:01  kube-system/kube-scheduler @alpha  holder=sched-a  term=1  preferred=sched-b  strategy=OldestEmulationVersion  (decision)\n',
    ]);
  });

  it('in a pipe, prints a lease line again only when it changed, with its clusters in name order', () => {
    const { view, written } = pipedView();
    const key = { scope: 'alpha', namespace: 'kube-system', name: 'kube-scheduler' };
    view.update(
      record('MODIFY', 'LEASE', {
        new: {
          ...lease('renewal'),
          namespace: { S: 'kube-system' },
          name: { S: 'kube-scheduler' },
          term: { N: '1' },
          updatedAt: { N: String(Date.parse('2026-11-24T12:00:01Z')) },
        },
      }),
    );
    // Two mirror passes that came to the same, reported in the order their clusters answered.
    view.mirrored(key, { 'cluster-b': 'replaced', 'cluster-a': 'in-sync' });
    view.mirrored(key, { 'cluster-a': 'in-sync', 'cluster-b': 'replaced' });
    view.mirrored(key, { 'cluster-a': 'revoked', 'cluster-b': 'in-sync' });
    const line = '12:00:01  kube-system/kube-scheduler @alpha  holder=a  term=1  strategy=(none)  (renewal)';
    expect(written).toEqual([
      `${line}\n`,
      `${line}  [cluster-a:in-sync cluster-b:replaced]\n`,
      `${line}  [cluster-a:revoked cluster-b:in-sync]\n`,
    ]);
  });

  it("shows a new decision without the previous decision's mirror words, and a renewal with them", () => {
    const { view, written } = pipedView();
    const key = { scope: 'alpha', namespace: 'kube-system', name: 'kube-scheduler' };
    const leaseAt = (change: string, holder: string, term: number) =>
      record('MODIFY', 'LEASE', {
        new: {
          ...lease(change),
          namespace: { S: 'kube-system' },
          name: { S: 'kube-scheduler' },
          holderIdentity: { S: holder },
          term: { N: String(term) },
          updatedAt: { N: String(Date.parse('2026-11-24T12:00:01Z')) },
        },
      });
    // A pass that lands before the lease's first line describes no decision this view has shown.
    view.mirrored(key, { 'cluster-a': 'unreachable' });
    view.update(leaseAt('decision', 'sched-a', 1));
    view.mirrored(key, { 'cluster-a': 'created' });
    view.update(leaseAt('renewal', 'sched-a', 1));
    view.update(leaseAt('decision', 'sched-b', 2));
    view.mirrored(key, { 'cluster-a': 'replaced' });
    const line = (holder: string, term: number, change: string) =>
      `12:00:01  kube-system/kube-scheduler @alpha  holder=${holder}  term=${term}  strategy=(none)  (${change})`;
    expect(written).toEqual([
      `${line('sched-a', 1, 'decision')}\n`,
      `${line('sched-a', 1, 'decision')}  [cluster-a:created]\n`,
      `${line('sched-a', 1, 'renewal')}  [cluster-a:created]\n`,
      `${line('sched-b', 2, 'decision')}\n`,
      `${line('sched-b', 2, 'decision')}  [cluster-a:replaced]\n`,
    ]);
  });
});
