import { beforeEach, describe } from 'vitest';
import { candidateCases } from './store-contract/candidate-cases.js';
import { ContractContext, type OpenStore } from './store-contract/context.js';
import { historyCases } from './store-contract/history-cases.js';
import { leaseCases } from './store-contract/lease-cases.js';
import { observedLeaseCases } from './store-contract/observed-lease-cases.js';
import { timerAndScanCases } from './store-contract/timer-and-scan-cases.js';

export type { OpenStore, StoreUnderContract } from './store-contract/context.js';
export { CONTRACT_HISTORY } from './store-contract/history-cases.js';

/**
 * The CoordinatorStore contract: one set of cases that every store must pass, so the in-memory
 * table the concurrency model races over cannot drift from DynamoDbStore unnoticed. Each case
 * covers a method with its condition met and failed: a failed condition is ConditionFailedError
 * carrying the item as stored, on every method that writes one item. Cases read back through the
 * port, and read the raw item only for what the port does not return but the stream filters
 * wake on (`kind`, `change`, `awaitingAck`) and for attributes left behind.
 */
export function storeContract(name: string, open: OpenStore): void {
  describe(`CoordinatorStore contract: ${name}`, () => {
    const context = new ContractContext();
    beforeEach(() => context.open(open));
    candidateCases(context);
    leaseCases(context);
    observedLeaseCases(context);
    timerAndScanCases(context);
    historyCases(context);
  });
}
