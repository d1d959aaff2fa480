import type { LeaseKey } from '../lib/ports/lease-key.js';
import type { DynamoDbStore } from '../lib/store/dynamodb-store.js';

/** Leases the calls spread over, so they meet items as the coordinator's do, not one hot item. */
const LEASES = 50;

/** The i-th of the store calls a bench makes on its own: a lease of `scope`, one of LEASES. */
export function benchLeaseKey(scope: string, i: number): LeaseKey {
  return { scope, namespace: 'default', name: `lease-${i % LEASES}` };
}

/** The i-th lease's one candidate heartbeating at `renewTime`, stored as a LeaseCandidate's would be. */
export function benchHeartbeat(store: DynamoDbStore, scope: string, i: number, renewTime: number) {
  const key = benchLeaseKey(scope, i);
  return store.putHeartbeat(
    key,
    scope,
    {
      apiVersion: 'v1beta1',
      name: `candidate-${i % LEASES}`,
      namespace: 'default',
      leaseName: key.name,
      binaryVersion: '1.34.0',
      emulationVersion: '1.34.0',
      strategy: 'OldestEmulationVersion',
      renewTime,
    },
    Date.now(),
  );
}

/** Calls `call(0)` … `call(count - 1)`, `inFlight` at a time, each started as one before it answers. */
export async function closedLoop(
  count: number,
  inFlight: number,
  call: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await call(next++);
    }),
  );
}
