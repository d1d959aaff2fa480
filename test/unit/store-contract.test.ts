import { InMemoryDecisionHistory } from '../helpers/in-memory-history.js';
import { InMemoryTable } from '../helpers/in-memory-store.js';
import { CONTRACT_HISTORY, storeContract } from '../helpers/store-contract.js';

/** The in-memory table the concurrency model races over passes the same contract as DynamoDbStore. */
storeContract('InMemoryStore', async (clock) => {
  const table = new InMemoryTable(clock);
  const history = new InMemoryDecisionHistory(CONTRACT_HISTORY);
  return {
    store: table.store(),
    history,
    item: async (pk, sk) =>
      (table.get(pk, sk) as Record<string, unknown> | undefined) ?? history.item(pk, sk),
  };
});
