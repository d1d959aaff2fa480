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
