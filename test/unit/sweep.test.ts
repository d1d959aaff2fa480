import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { reconcileWouldWrite } from '../../lib/coordinator/lease-triage.js';
import { reconcileLease } from '../../lib/coordinator/reconcile-lease.js';
import { handleSweep } from '../../lib/handlers/sweep.js';
import type { CoordinatorDeps } from '../../lib/ports/coordinator.js';
import { type LeaseKey, ungroupedLeases } from '../../lib/ports/lease-key.js';
import { InMemoryTable } from '../helpers/in-memory-store.js';

const START = Date.UTC(2026, 10, 25, 12);
const LEASES = 40;
const READS = new Set(['loadLease', 'scanLeases']);

/**
 * Forty leases with one candidate each, never elected: the sweep is what elects them. Timers are
 * never delivered (deliverAt does nothing), as if every one were lost: the sweep is the backstop.
 */
async function table() {
  let now = START;
  const memory = new InMemoryTable(() => now);
  const requests: string[] = [];
  const store = memory.store(async (request) => {
    requests.push(request);
  });
  const keys: LeaseKey[] = [];
  for (let i = 0; i < LEASES; i++) {
    const key = { scope: 'alpha', namespace: 'kube-system', name: `lease-${i}` };
    keys.push(key);
    await store.putHeartbeat(
      key,
      'alpha',
      {
        apiVersion: 'v1beta1',
        name: `candidate-${i}`,
        namespace: 'kube-system',
        leaseName: `lease-${i}`,
        binaryVersion: '1.34.0',
        emulationVersion: '1.34.0',
        strategy: 'OldestEmulationVersion',
        renewTime: now,
      },
      now,
    );
  }
  const deps: CoordinatorDeps = {
    store,
    timers: { deliverAt: async () => {} },
    clock: () => now,
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    leases: ungroupedLeases,
  };
  const holders = async () => {
    let held = 0;
    for (const key of keys)
      if ((await store.loadLease(key)).lease?.record.holderIdentity !== undefined) held++;
    return held;
  };
  /** Write requests (conditional ones that fail included: DynamoDB bills them too). */
  const writes = () => requests.filter((r) => !READS.has(r)).length;
  const advance = (ms: number) => {
    now += ms;
  };
  /** A candidate the strategy ranks above every first one (an older emulation version), heard now. */
  const betterCandidate = (key: LeaseKey) =>
    store.putHeartbeat(
      key,
      'alpha',
      {
        apiVersion: 'v1beta1',
        name: `better-${key.name}`,
        namespace: 'kube-system',
        leaseName: key.name,
        binaryVersion: '1.33.0',
        emulationVersion: '1.33.0',
        strategy: 'OldestEmulationVersion',
        renewTime: now,
      },
      now,
    );
  return { deps, store, keys, holders, writes, advance, betterCandidate };
}

describe('sweep (unit: in-memory table)', () => {
  it('reconciles every lease that needs a decision', async () => {
    const { deps, holders } = await table();
    const result = await handleSweep(deps);
    expect(result).toEqual({ scanned: LEASES, reconciled: LEASES, failed: 0, stoppedEarly: false });
    expect(await holders()).toBe(LEASES);
  });

  it('leaves settled leases alone: a second sweep at once scans them all, reconciles none and writes nothing', async () => {
    const { deps, writes } = await table();
    await handleSweep(deps);
    const before = writes();
    const result = await handleSweep(deps);
    expect(result).toEqual({ scanned: LEASES, reconciled: 0, failed: 0, stoppedEarly: false });
    expect(writes()).toBe(before);
  });

  it('looks again at a lease whose timer fell due and was never delivered', async () => {
    const { deps, advance } = await table();
    await handleSweep(deps);
    // Past the elected holders' lease duration: each lease's pending timer has fallen due.
    advance(60_000);
    const result = await handleSweep(deps);
    expect(result.reconciled).toBe(LEASES);
  });

  it('judges from the scan exactly as a reconcile would: a lease judged quiet is one a reconcile leaves unwritten', async () => {
    const { deps, store, keys, writes, advance } = await table();
    await handleSweep(deps);
    let quiet = 0;
    let busy = 0;
    // Walk through the leases' lives (renewal windows, timers due, candidates aging) in 1.7 s steps.
    for (let step = 0; step < 40; step++) {
      advance(1_700);
      for (const key of keys.slice(0, 5)) {
        const judged = reconcileWouldWrite(await store.loadLease(key), deps.clock(), true);
        const before = writes();
        await reconcileLease(deps, key);
        const wrote = writes() > before;
        if (!judged) {
          expect(wrote, `lease ${key.name} at +${step * 1.7} s`).toBe(false);
          quiet++;
        } else busy++;
      }
    }
    // Both verdicts occurred, so the assertion above was exercised.
    expect(quiet).toBeGreaterThan(0);
    expect(busy).toBeGreaterThan(0);
  });

  it('leaves a lease under preemption Never alone when a better candidate joins beside its live holder', async () => {
    const { deps, store, keys, writes, advance, betterCandidate } = await table();
    const never: CoordinatorDeps = { ...deps, preemption: () => 'Never' };
    await handleSweep(never);
    advance(1_000);
    for (const key of keys) await betterCandidate(key);
    // Under Auto the same state is a preemption: what makes the lease worth a look is its policy.
    const [first] = keys as [LeaseKey];
    expect(reconcileWouldWrite(await store.loadLease(first), deps.clock(), true)).toBe(true);
    expect(reconcileWouldWrite(await store.loadLease(first), deps.clock(), false)).toBe(false);
    const before = writes();
    const result = await handleSweep(never);
    expect(result).toEqual({ scanned: LEASES, reconciled: 0, failed: 0, stoppedEarly: false });
    expect(writes()).toBe(before);
    // And the verdict is the reconcile's own: under Never it writes nothing either.
    await reconcileLease(never, first);
    expect(writes()).toBe(before);
    expect((await store.loadLease(first)).lease?.record.preferredHolder).toBeUndefined();
  });

  it("hands the cluster pass the scan's view of a lease it left alone, and nothing for one it reconciled", async () => {
    const { deps } = await table();
    const first: (string | undefined)[] = [];
    await handleSweep(deps, undefined, async (_key, scanned) => {
      first.push(scanned === undefined ? undefined : 'scanned');
    });
    const second: (number | undefined)[] = [];
    await handleSweep(deps, undefined, async (_key, scanned) => {
      second.push(scanned?.lease?.record.term);
    });
    // First sweep: every lease needed an election, so the pass reads for itself.
    expect(first).toEqual(Array(LEASES).fill(undefined));
    // Second: all settled, and the pass sees what the scan read (each lease elected, term 1).
    expect(second).toEqual(Array(LEASES).fill(1));
  });

  it('starts no reconcile once the invocation is near its deadline, and says it stopped early', async () => {
    const { deps, holders } = await table();
    let remaining = 60_000;
    const result = await handleSweep(deps, { getRemainingTimeInMillis: () => remaining }, async () => {
      // Each lease costs 3 s of the invocation's time.
      remaining -= 3_000;
    });
    expect(result.stoppedEarly).toBe(true);
    expect(result.failed).toBe(0);
    // 60 s, 3 s a lease, 5 s kept back: the 19th leaves 3 s.
    expect(result.reconciled).toBe(19);
    expect(result.scanned).toBe(19);
    expect(await holders()).toBe(result.reconciled);
  });
});
