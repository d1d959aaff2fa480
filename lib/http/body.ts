import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { parseJsonOrThrow } from '../api/issues.js';
import { PayloadTooLargeError, ValidationError } from '../errors.js';

/** Heartbeats are a few hundred bytes; anything near this limit is a mistake or an attack. */
export const MAX_BODY_BYTES = 64 * 1024;

export function readJsonBody(event: APIGatewayProxyEventV2): unknown {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  if (bytes.length === 0) throw new ValidationError([{ path: 'body', message: 'required: a JSON object' }]);
  return parseJsonOrThrow(bytes.toString('utf8'), 'body');
}

/**
 * The API takes no query parameters. One given is refused rather than ignored: a kubectl-minded
 * client's `?dryRun=All` expects nothing stored, and ignoring it would store the heartbeat.
 */
export function refuseQuery(event: APIGatewayProxyEventV2): void {
  const names = Object.keys(event.queryStringParameters ?? {});
  if (names.length > 0)
    throw new ValidationError(
      names.map((name) => ({
        path: `query.${name}`,
        message: 'not supported: this API takes no query parameters',
      })),
    );
}
