import { describe, expect, it } from 'vitest';
import type { ScannedLease } from '../../lib/ports/store.js';
import { groupByPartition } from '../../lib/store/scan-groups.js';

async function* from(items: Record<string, unknown>[]) {
  yield* items;
}

async function collect(items: Record<string, unknown>[]): Promise<ScannedLease[]> {
  const out: ScannedLease[] = [];
  for await (const entry of groupByPartition(from(items))) out.push(entry);
  return out;
}

const lease = (name: string, version: number) => ({
  pk: `LEASE#alpha/kube-system/${name}`,
  sk: 'LEASE',
  kind: 'lease',
  term: 1,
  version,
  holderIdentity: 'a',
});
const timer = (name: string, dueAt: number) => ({
  pk: `LEASE#alpha/kube-system/${name}`,
  sk: 'TIMER',
  dueAt,
});

describe('groupByPartition (unit: pure)', () => {
  it('yields one entry per run of a partition, with its lease and timer', async () => {
    const out = await collect([lease('a', 3), timer('a', 100), lease('b', 7), timer('c', 5)]);
    expect(out.map((e) => e.key.name)).toEqual(['a', 'b', 'c']);
    expect(out[0]?.state?.lease?.version).toBe(3);
    expect(out[0]?.state?.timerDueAt).toBe(100);
    expect(out[1]?.state?.timerDueAt).toBeUndefined();
    expect(out[2]?.state?.lease).toBeUndefined();
  });

  it('yields nothing for an empty table', async () => {
    expect(await collect([])).toEqual([]);
  });

  it('yields a partition that shows up again after another without a state, so it is read whole', async () => {
    const out = await collect([lease('a', 1), lease('b', 1), timer('a', 9)]);
    expect(out.map((e) => [e.key.name, e.state !== undefined])).toEqual([
      ['a', true],
      ['b', true],
      ['a', false],
    ]);
  });
});
