import type { ServerResponse } from 'node:http';

// The SQS JSON protocol as the timer endpoint (sqs-timer-endpoint.ts) speaks it: its requests'
// validation and its replies.

/** SQS's own bound on DelaySeconds. */
const MAX_DELAY_SECONDS = 900;
/** SQS's bound on a message's VisibilityTimeout: 12 hours. */
const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;
/** SQS's bound on the entries of one batch request. */
const MAX_BATCH_ENTRIES = 10;
/** A batch entry's Id, as SQS accepts it: alphanumerics, hyphens and underscores, up to 80. */
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;

export interface SendMessageInput {
  readonly body: string;
  readonly delaySeconds: number;
}

export interface VisibilityChange {
  readonly id: string;
  readonly receiptHandle: string;
  readonly visibilityTimeout: number;
}

/** SendMessage's input, or what is wrong with it (naming the field, as SQS does). */
export function parseSendMessage(text: string, queueUrl: string): SendMessageInput | string {
  const input = requestFor(text, queueUrl);
  if (typeof input === 'string') return input;
  if (typeof input.MessageBody !== 'string' || input.MessageBody === '') return 'MessageBody: required';
  const delaySeconds = input.DelaySeconds ?? 0;
  if (!wholeNumberUpTo(delaySeconds, MAX_DELAY_SECONDS))
    return `DelaySeconds: must be a whole number from 0 to ${MAX_DELAY_SECONDS}`;
  return { body: input.MessageBody, delaySeconds };
}

/**
 * ChangeMessageVisibilityBatch's entries, or what is wrong with the request (naming the field):
 * one to ten entries with distinct Ids, each a receipt handle and a whole-second timeout.
 */
export function parseChangeVisibilityBatch(text: string, queueUrl: string): VisibilityChange[] | string {
  const input = requestFor(text, queueUrl);
  if (typeof input === 'string') return input;
  const entries = input.Entries;
  if (!Array.isArray(entries) || entries.length === 0) return 'Entries: at least one entry is required';
  if (entries.length > MAX_BATCH_ENTRIES) return `Entries: at most ${MAX_BATCH_ENTRIES} entries`;
  const changes: VisibilityChange[] = [];
  for (const [i, entry] of entries.entries()) {
    const change = visibilityChange(entry, `Entries[${i}]`);
    if (typeof change === 'string') return change;
    if (changes.some((c) => c.id === change.id)) return `Entries[${i}].Id: ${change.id} is not distinct`;
    changes.push(change);
  }
  return changes;
}

function visibilityChange(entry: unknown, path: string): VisibilityChange | string {
  const { Id, ReceiptHandle, VisibilityTimeout } = (entry ?? {}) as Record<string, unknown>;
  if (typeof Id !== 'string' || !BATCH_ENTRY_ID.test(Id))
    return `${path}.Id: up to 80 letters, digits, hyphens or underscores`;
  if (typeof ReceiptHandle !== 'string' || ReceiptHandle === '') return `${path}.ReceiptHandle: required`;
  if (!wholeNumberUpTo(VisibilityTimeout, MAX_VISIBILITY_TIMEOUT_SECONDS))
    return `${path}.VisibilityTimeout: must be a whole number from 0 to ${MAX_VISIBILITY_TIMEOUT_SECONDS}`;
  return { id: Id, receiptHandle: ReceiptHandle, visibilityTimeout: VisibilityTimeout };
}

/** The request's JSON, addressed to this queue, or what is wrong with it. */
function requestFor(text: string, queueUrl: string): Record<string, unknown> | string {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    return 'the request body is not JSON';
  }
  if (typeof input !== 'object' || input === null) return 'the request body is not a JSON object';
  const request = input as Record<string, unknown>;
  if (request.QueueUrl !== queueUrl) return `QueueUrl: no queue ${String(request.QueueUrl)}`;
  return request;
}

function wholeNumberUpTo(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}

/** A 400 naming what is wrong with the request, as SQS answers a bad parameter. */
export function invalid(res: ServerResponse, message: string): void {
  reply(res, 400, { __type: 'com.amazonaws.sqs#InvalidParameterValue', message });
}

export function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
  res.end(JSON.stringify(body));
}
