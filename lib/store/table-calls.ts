import {
  DeleteItemCommand,
  type DeleteItemCommandInput,
  type DynamoDBClient,
  PutItemCommand,
  type PutItemCommandInput,
  paginateQuery,
  paginateScan,
  type QueryCommandInput,
  type ScanCommandInput,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { marshall, type NativeAttributeValue, unmarshall } from '@aws-sdk/util-dynamodb';

/** An item, a key or a set of expression values as plain JavaScript values. */
export type PlainItem = Record<string, NativeAttributeValue>;

/** Expression values as plain values; what reads every page takes no start key. */
interface PlainValues {
  readonly ExpressionAttributeValues?: PlainItem;
}

export type PlainUpdate = Omit<UpdateItemCommandInput, 'Key' | 'ExpressionAttributeValues'> &
  PlainValues & { readonly Key: PlainItem };
/** Any object of plain values: the items' own interfaces (LockItem, HistoryItem) carry no index signature. */
export type PlainPut = Omit<PutItemCommandInput, 'Item' | 'ExpressionAttributeValues'> &
  PlainValues & { readonly Item: object };
export type PlainDelete = Omit<DeleteItemCommandInput, 'Key' | 'ExpressionAttributeValues'> &
  PlainValues & { readonly Key: PlainItem };
export type PlainQuery = Omit<QueryCommandInput, 'ExpressionAttributeValues' | 'ExclusiveStartKey'> &
  PlainValues;
export type PlainScan = Omit<ScanCommandInput, 'ExpressionAttributeValues' | 'ExclusiveStartKey'>;

/** Attributes left undefined are left out, as the store's items carry optional fields. */
const MARSHALL = { removeUndefinedValues: true } as const;

/**
 * The table's calls with items as plain values, marshalled here with `@aws-sdk/util-dynamodb`, on
 * the client's own commands. The SDK's document client does the same per call through middleware of
 * its own and refuses the client's `cacheMiddleware`; without the two a table call takes about a
 * tenth less Node CPU (docs/benchmark-history.md, "The SDK's cost per table call"). A failed condition
 * comes back as the client's ConditionalCheckFailedException, its `Item` still marshalled.
 */
export class TableCalls {
  constructor(private readonly client: DynamoDBClient) {}

  async update({ Key, ExpressionAttributeValues, ...rest }: PlainUpdate): Promise<PlainItem | undefined> {
    const out = await this.client.send(
      new UpdateItemCommand({
        ...rest,
        Key: marshall(Key, MARSHALL),
        ...expressionValues(ExpressionAttributeValues),
      }),
    );
    return out.Attributes === undefined ? undefined : unmarshall(out.Attributes);
  }

  async put({ Item, ExpressionAttributeValues, ...rest }: PlainPut): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        ...rest,
        Item: marshall(Item as PlainItem, MARSHALL),
        ...expressionValues(ExpressionAttributeValues),
      }),
    );
  }

  async delete({ Key, ExpressionAttributeValues, ...rest }: PlainDelete): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({
        ...rest,
        Key: marshall(Key, MARSHALL),
        ...expressionValues(ExpressionAttributeValues),
      }),
    );
  }

  /** Every item the query matches, all pages read. */
  async query({ ExpressionAttributeValues, ...rest }: PlainQuery): Promise<PlainItem[]> {
    const items: PlainItem[] = [];
    const pages = paginateQuery(
      { client: this.client },
      { ...rest, ...expressionValues(ExpressionAttributeValues) },
    );
    for await (const page of pages) for (const item of page.Items ?? []) items.push(unmarshall(item));
    return items;
  }

  /** Every item of the table, a page at a time. */
  async *scan(input: PlainScan): AsyncIterable<PlainItem> {
    for await (const page of paginateScan({ client: this.client }, input))
      for (const item of page.Items ?? []) yield unmarshall(item);
  }
}

function expressionValues(plain: PlainItem | undefined) {
  return plain === undefined ? {} : { ExpressionAttributeValues: marshall(plain, MARSHALL) };
}
