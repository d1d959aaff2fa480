import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapacityMeter } from '../../bench/capacity-meter.js';
import { DEFAULT_HISTORY_RETENTION } from '../../lib/ports/history.js';
import { historyItem } from '../../lib/store/decision-history.js';
import { candidate, startTestStack, type TestStack } from '../helpers/local-stack.js';

const LEASE = { scope: 'alpha', namespace: 'kube-system', name: 'kube-scheduler' };

/**
 * An item's size as DynamoDB bills it: each attribute name's and string's UTF-8 bytes, about one
 * byte per two digits of a number plus one, one per boolean or null, and three per map or list
 * plus one per element.
 */
function billedBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(Math.abs(value)).replace('.', '').length / 2) + 1;
  if (typeof value === 'boolean' || value === null) return 1;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + billedBytes(v), 0);
  if (typeof value === 'object' && value !== null)
    return (
      3 + Object.entries(value).reduce((sum, [k, v]) => sum + 1 + Buffer.byteLength(k) + billedBytes(v), 0)
    );
  return 0;
}

describe('decision history cost (integration: DynamoDB Local, consumed capacity as reported)', () => {
  let stack: TestStack;
  const meter = new CapacityMeter();
  beforeAll(async () => {
    stack = await startTestStack({ onTableClient: (client) => meter.attach(client) });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('costs one write unit to number a decision and one to store it, the record under 1 KB', async () => {
    const now = stack.clock.now;
    // The worked example, with a third candidate: three ranked, pod-like names.
    for (const [name, emulation] of [
      ['kube-scheduler-ip-10-0-1-23', '1.34.0'],
      ['kube-scheduler-ip-10-0-2-45', '1.33.0'],
      ['kube-scheduler-ip-10-0-3-67', '1.34.0'],
    ] as const)
      expect(
        (
          await stack.post(
            '/clusters/alpha/leasecandidates',
            candidate(name, { binary: '1.34.0', emulation }, now),
          )
        ).status,
      ).toBe(201);
    const before = meter.snapshot();
    await stack.streams.drain();
    const after = meter.snapshot();
    const history = stack.deps.history;
    if (history === undefined) throw new Error('the local stack keeps no history');
    const [record] = await history.recent(LEASE);
    expect(record?.message).toBe(
      'Elected kube-scheduler-ip-10-0-2-45 (term 1): lowest emulation version 1.33.0 of 3 candidates',
    );
    const item = historyItem(LEASE, 1, record as NonNullable<typeof record>, DEFAULT_HISTORY_RETENTION);
    const bytes = billedBytes(item);
    expect(bytes).toBeLessThan(1024);

    // Exactly one decision was taken; its history calls are the two extra writes of the step.
    const calls = (name: string) => (after.calls[name] ?? 0) - (before.calls[name] ?? 0);
    const units = after.writeUnits - before.writeUnits;
    process.stdout.write(
      `decision history: record ${bytes} bytes; the decision step wrote ${units} WCU in ${calls('PutItemCommand') + calls('UpdateItemCommand')} writes\n`,
    );
    const reserveAndAppend = 2;
    // Without history the step writes the lease record and arms its timer: 2 writes, 2 WCU.
    expect(calls('PutItemCommand') + calls('UpdateItemCommand')).toBe(2 + reserveAndAppend);
    expect(units).toBe(2 + reserveAndAppend);
    // The bench's meter tells those two apart by their partition (HISTORY#…), as its cost section shows.
    expect(after.history.writes - before.history.writes).toBe(reserveAndAppend);
    expect(after.history.writeUnits - before.history.writeUnits).toBe(reserveAndAppend);
  });
});
