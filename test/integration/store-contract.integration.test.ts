import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../lib/local/dynamodb-local.js';
import { createTable } from '../../lib/local/table.js';
import { DynamoDbDecisionHistory } from '../../lib/store/decision-history.js';
import { DynamoDbStore } from '../../lib/store/dynamodb-store.js';
import { CONTRACT_HISTORY, storeContract } from '../helpers/store-contract.js';

const TABLE = 'store-contract';
/** Small Scan pages, so a lease partition is split across pages and the scan must join it. */
const SCAN_PAGE_ITEMS = 2;

let local: DynamoDbLocal;
let store: DynamoDbStore;
let history: DynamoDbDecisionHistory;

// One DynamoDB Local and one table for the file; every case uses its own lease keys.
beforeAll(async () => {
  local = await startDynamoDbLocal();
  await createTable(local.client, TABLE);
  store = new DynamoDbStore(local.client, TABLE, SCAN_PAGE_ITEMS);
  history = new DynamoDbDecisionHistory(local.client, TABLE, CONTRACT_HISTORY);
});
afterAll(async () => {
  await local?.stop();
});

storeContract('DynamoDbStore on DynamoDB Local', async () => ({
  store,
  history,
  item: async (pk, sk) => {
    const { Item } = await local.client.send(
      new GetItemCommand({ TableName: TABLE, Key: marshall({ pk, sk }), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : unmarshall(Item);
  },
}));
