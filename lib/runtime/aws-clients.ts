import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { AWS_CALL_LIMITS } from '../aws-call-limits.js';

/** The client the functions (deployed and packaged) and the CLI reach the table with, its calls bounded. */
export function tableClient(config: Omit<DynamoDBClientConfig, 'requestHandler'>): DynamoDBClient {
  return new DynamoDBClient({ ...config, requestHandler: { ...AWS_CALL_LIMITS } });
}
