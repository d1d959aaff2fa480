import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

type AuthScheme = NonNullable<DynamoDBClientConfig['httpAuthSchemes']>[number];

/** The access key DynamoDB Local is sent: with -sharedDb it names nothing, and it is checked against nothing. */
export const EMULATOR_ACCESS_KEY = 'local';

/**
 * What the emulator's clients send in place of a SigV4 signature. DynamoDB Local refuses a request
 * without an Authorization header (MissingAuthenticationToken) but reads only the access key from it
 * and verifies no signature, so computing one is work for nothing: about a fifth of a table call's
 * Node CPU in the sources runtime, where the coordinator and all its functions share one process
 * (docs/benchmark-history.md, "Stop 51"). Only clients of the emulator use it; the deployed
 * functions, the packaged runtime's bundles and the CLI sign as AWS requires.
 */
export const EMULATOR_AUTHORIZATION = `AWS4-HMAC-SHA256 Credential=${EMULATOR_ACCESS_KEY}/20000101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=unsigned`;

const unsignedForTheEmulator: AuthScheme = {
  schemeId: 'aws.auth#sigv4',
  // The credentials still resolve as configured; only the signing is skipped.
  identityProvider: (config) => config.getIdentityProvider('aws.auth#sigv4'),
  signer: {
    sign: async (request) => {
      request.headers.authorization = EMULATOR_AUTHORIZATION;
      return request;
    },
  },
};

/** Client settings for DynamoDB Local (tables and streams): its requests carry the header unsigned. */
export const EMULATOR_AUTH = { httpAuthSchemes: [unsignedForTheEmulator] };
