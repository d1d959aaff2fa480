import { InMemoryTable } from '../helpers/in-memory-store.js';
import { storeContract } from '../helpers/store-contract.js';

/** The in-memory table the concurrency model races over passes the same contract as DynamoDbStore. */
storeContract('InMemoryStore', async (clock) => {
  const table = new InMemoryTable(clock);
  return {
    store: table.store(),
    item: async (pk, sk) => table.get(pk, sk) as Record<string, unknown> | undefined,
  };
});
