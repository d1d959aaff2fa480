import { readFileSync } from 'node:fs';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { type FilterPattern, matchesAny } from '../../lib/local/event-filter.js';
import { LiveView } from '../../lib/local/live-view.js';

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

describe('live view (unit: a fake output stream)', () => {
  it('prints one line per lease decision, with holder, term and preferred holder', () => {
    const written: string[] = [];
    const out = {
      isTTY: false,
      write: (text: string) => written.push(text),
    } as unknown as NodeJS.WriteStream;
    const view = new LiveView(out);
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
});
