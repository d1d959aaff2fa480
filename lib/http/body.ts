import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { parseJsonOrThrow } from '../api/issues.js';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../errors.js';

/** Heartbeats are a few hundred bytes; anything near this limit is a mistake or an attack. */
export const MAX_BODY_BYTES = 64 * 1024;

export function readJsonBody(event: APIGatewayProxyEventV2): unknown {
  refuseOtherMediaTypes(event);
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

/**
 * A body is JSON. No Content-Type is taken as JSON, as kube-apiserver takes it; any other media type
 * is refused (415) rather than parsed: a form that `curl -d` sends, or YAML, is not what the caller
 * meant to be read as JSON. API Gateway and the local server give header names in lower case.
 */
function refuseOtherMediaTypes(event: APIGatewayProxyEventV2): void {
  const contentType = event.headers?.['content-type']?.trim();
  if (contentType === undefined || contentType === '') return;
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (mediaType !== 'application/json') throw new UnsupportedMediaTypeError(contentType);
}
