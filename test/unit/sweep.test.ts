import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { ungroupedLeases } from '../../lib/coordinator/ports.js';
import type { CoordinatorDeps } from '../../lib/coordinator/reconcile-lease.js';
import { handleSweep } from '../../lib/handlers/sweep.js';
import { InMemoryTable } from '../helpers/in-memory-store.js';

const NOW = Date.UTC(2026, 10, 25, 12);
const LEASES = 40;

/** Forty leases with one candidate each, never elected: the sweep is what elects them. */
async function table() {
  const memory = new InMemoryTable(() => NOW);
  const store = memory.store(async () => {});
  for (let i = 0; i < LEASES; i++) {
    await store.putHeartbeat(
      { scope: 'alpha', namespace: 'kube-system', name: `lease-${i}` },
      'alpha',
      {
        apiVersion: 'v1beta1',
        name: `candidate-${i}`,
        namespace: 'kube-system',
        leaseName: `lease-${i}`,
        binaryVersion: '1.34.0',
        emulationVersion: '1.34.0',
        strategy: 'OldestEmulationVersion',
        renewTime: NOW,
      },
      NOW,
    );
  }
  const deps: CoordinatorDeps = {
    store,
    timers: { deliverAt: async () => {} },
    clock: () => NOW,
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    leases: ungroupedLeases,
  };
  const holders = async () => {
    let held = 0;
    for await (const key of store.listLeaseKeys())
      if ((await store.loadLease(key)).lease?.record.holderIdentity !== undefined) held++;
    return held;
  };
  return { deps, holders };
}

describe('sweep (unit: in-memory table)', () => {
  it('reconciles every lease', async () => {
    const { deps, holders } = await table();
    const result = await handleSweep(deps);
    expect(result).toEqual({ reconciled: LEASES, failed: 0, stoppedEarly: false });
    expect(await holders()).toBe(LEASES);
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
    expect(await holders()).toBe(result.reconciled);
  });
});
